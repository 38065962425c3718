"""NVD CVE API 2.0 JSON (a response page, ``{"vulnerabilities": [{"cve": …}]}``, or one
``cve`` object as mirrors of the feed keep them) into records.

Configurations are read for their vulnerable ``cpeMatch`` entries whose CPE names a family
here (``cisco:ios``, ``cisco:ios_xe``, ``cisco:nx-os``, ``juniper:junos``, ``arista:eos``):
a CPE with a version is that version (Junos: version and update, ``21.4`` + ``r3-s1`` is
21.4R3-S1); a CPE with ``*`` takes ``versionStartIncluding`` / ``versionStartExcluding`` /
``versionEndIncluding`` / ``versionEndExcluding`` as its range, or every version without them.
The hardware an ``AND`` configuration pairs the software with is not kept: a match says which
software is affected, not on which chassis. NVD's primary CVSS metric is kept (v3.1, v3.0,
v4.0, v2 in that order); ``cisaExploitAdd`` (the KEV catalogue) marks it exploited.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from network_discovery.vuln._common import (
    affected_of,
    cpe_fields,
    feature_of,
    score_vector,
    short,
    tagged_url,
)
from network_discovery.vuln.model import Advisory, Range
from network_discovery.vuln.versions import Family

__all__ = ["is_nvd", "read_nvd"]

MAX_MATCHES = 20_000
MAX_CVES = 5_000


def is_nvd(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    if isinstance(doc.get("vulnerabilities"), list) and doc.get("format", "NVD_CVE") == "NVD_CVE":
        return "dataType" not in doc and "document" not in doc
    return isinstance(doc.get("id"), str) and doc["id"].startswith("CVE-") and "metrics" in doc


def _cpe_parts(text: str) -> tuple[Family, str | None] | None:
    fields = cpe_fields(text)
    if fields is None:
        return None
    family, version, update = fields
    if version in ("*", ""):
        return family, None
    if version == "-":
        return None  # "no version": says nothing about releases
    if family == "junos" and update not in ("*", "-", ""):
        version = f"{version}{update.upper()}"
    return family, version[:64]


def _metric(metrics: dict[str, Any]) -> tuple[float | None, str | None, str | None, str | None]:
    for name in ("cvssMetricV31", "cvssMetricV30", "cvssMetricV40", "cvssMetricV2"):
        entries = [e for e in metrics.get(name) or [] if isinstance(e, dict)]
        entries.sort(key=lambda e: e.get("type") != "Primary")
        for entry in entries:
            data = entry.get("cvssData") or {}
            found = score_vector(data.get("vectorString"), data.get("baseScore"))
            if found[0] is not None:
                return found
    return None, None, None, None


def _one(cve: dict[str, Any]) -> Advisory | None:
    cve_id = short(cve.get("id"), 32)
    if cve_id is None:
        return None
    if str(cve.get("vulnStatus", "")).lower() == "rejected":
        return None
    grouped: dict[Family, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    seen = 0
    for config in cve.get("configurations") or []:
        for node in (config or {}).get("nodes") or []:
            if not isinstance(node, dict) or node.get("negate"):
                continue
            for match in node.get("cpeMatch") or []:
                seen += 1
                if seen > MAX_MATCHES:
                    raise ValueError(f"more than {MAX_MATCHES} CPE matches in {cve_id}")
                if not isinstance(match, dict) or not match.get("vulnerable"):
                    continue
                parts = _cpe_parts(str(match.get("criteria", "")))
                if parts is None:
                    continue
                family, version = parts
                bucket = grouped[family]
                if version is not None:
                    bucket["affected"].append(version)
                    continue
                start = match.get("versionStartIncluding") or match.get("versionStartExcluding")
                end = match.get("versionEndExcluding") or match.get("versionEndIncluding")
                bucket["ranges"].append(
                    Range(
                        start=str(start)[:64] if start else None,
                        start_inclusive="versionStartExcluding" not in match,
                        end=str(end)[:64] if end else None,
                        end_inclusive="versionEndIncluding" in match,
                    )
                )
                if match.get("versionEndExcluding"):
                    bucket["fixed"].append(str(match["versionEndExcluding"])[:64])
    affected = affected_of(grouped)
    score, severity, version, vector = _metric(cve.get("metrics") or {})
    description = next(
        (
            short(d.get("value"))
            for d in cve.get("descriptions") or []
            if isinstance(d, dict) and d.get("lang") == "en"
        ),
        None,
    )
    name = short(cve.get("cisaVulnerabilityName"), 300)
    first_sentence = (description or "").split(". ")[0][:300]
    feature, words = feature_of(name or first_sentence)
    url = tagged_url(cve.get("references"), "Vendor Advisory")
    return Advisory(
        key=f"nvd:{cve_id}",
        source="nvd",
        advisory_id=cve_id,
        cve=cve_id,
        title=name or (description or "")[:300] or None,
        url=url,
        published=short(cve.get("published"), 64),
        updated=short(cve.get("lastModified"), 64),
        cvss_score=score,
        cvss_vector=vector,
        cvss_version=version,
        severity=severity,
        exploited=True if cve.get("cisaExploitAdd") else None,
        affected=affected,
        remediation=short(cve.get("cisaRequiredAction"), 1900),
        feature=feature,
        condition=words,
    )


def read_nvd(doc: dict[str, Any]) -> list[Advisory]:
    """The records of an NVD API 2.0 page or one CVE object; a ``ValueError`` when ``doc`` is
    neither. CVEs that name no family here are kept out."""
    if not is_nvd(doc):
        raise ValueError("not NVD CVE API 2.0 JSON (vulnerabilities[].cve, or a cve object)")
    if isinstance(doc.get("vulnerabilities"), list):
        items = doc["vulnerabilities"]
        if len(items) > MAX_CVES:
            raise ValueError(f"more than {MAX_CVES} CVEs in one page")
        cves = [i.get("cve") for i in items if isinstance(i, dict)]
    else:
        cves = [doc]
    records = []
    for cve in cves:
        if isinstance(cve, dict):
            record = _one(cve)
            if record is not None and record.affected:
                records.append(record)
    return records
