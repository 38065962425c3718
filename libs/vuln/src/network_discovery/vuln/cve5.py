"""CVE JSON 5 records (the CVE Program's format; what CNAs such as Cisco, Juniper and Arista
publish) into records.

``containers.cna.affected`` names products and their versions: an ``affected`` version
without ``lessThan`` is that version alone; ``lessThan`` / ``lessThanOrEqual`` make a range
from ``version`` (``0`` or ``*``: from the first); ``changes`` mark versions inside a range
that are fixed. Juniper writes ``lessThan: "21.1*"`` for every release of the 21.1 line, and
``lessThan: "22.4R2-S2, 22.4R3"`` for two fixes (the earlier one fixes its own release line
only). ``versionType`` is not trusted (Juniper says ``semver`` of Junos versions): the family's
own order is used. A ``defaultStatus`` of ``affected`` makes every version not named
unaffected affected.

CVSS comes from the CNA's metrics (v3.1, v3.0, v4.0, v2, in that order), else from an ADP's.
Exploited: the CISA ADP's KEV entry or an SSVC ``Exploitation: active`` says yes; SSVC
``none`` or a CNA exploit note that the vendor is not aware of exploitation says no.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from network_discovery.vuln._common import (
    affected_of,
    family_of_product,
    feature_of,
    score_vector,
    short,
    tagged_url,
)
from network_discovery.vuln.model import Advisory, Range
from network_discovery.vuln.versions import Family, compare, parse

__all__ = ["is_cve5", "read_cve5"]

MAX_AFFECTED = 500
MAX_VERSIONS = 5000
_ANY = {"0", "*", "", "n/a", "all", "-"}


def is_cve5(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and doc.get("dataType") == "CVE_RECORD"
        and isinstance(doc.get("containers"), dict)
    )


def _metric(metrics: Any) -> tuple[float | None, str | None, str | None, str | None]:
    for wanted in ("cvssV3_1", "cvssV3_0", "cvssV4_0", "cvssV2_0"):
        for entry in metrics or []:
            if isinstance(entry, dict) and isinstance(entry.get(wanted), dict):
                metric = entry[wanted]
                found = score_vector(metric.get("vectorString"), metric.get("baseScore"))
                if found[0] is not None:
                    return found
    return None, None, None, None


def _exploited(cna: dict[str, Any], adps: list[Any]) -> bool | None:
    verdict: bool | None = None
    for adp in adps:
        if not isinstance(adp, dict):
            continue
        for entry in adp.get("metrics") or []:
            other = entry.get("other") if isinstance(entry, dict) else None
            if not isinstance(other, dict):
                continue
            if other.get("type") == "kev":
                return True
            if other.get("type") == "ssvc":
                for option in (other.get("content") or {}).get("options") or []:
                    value = str((option or {}).get("Exploitation", "")).lower()
                    if value == "active":
                        return True
                    if value == "none":
                        verdict = False
    for note in cna.get("exploits") or []:
        text = str((note or {}).get("value", "")).lower() if isinstance(note, dict) else ""
        if re.search(r"not aware|no (?:known|evidence)|unaware", text):
            verdict = False if verdict is None else verdict
        elif re.search(r"aware of .*exploit|exploited|exploitation .*observed", text):
            return True
    return verdict


def _bounds(family: Family, text: str) -> tuple[str | None, tuple[str, ...]]:
    """("22.4R3", ("22.4R2-S2",)) from ``"22.4R2-S2, 22.4R3"``: the range's end (the newest)
    and the other fixes."""
    values = [v.strip() for v in text.split(",") if v.strip()][:16]
    if not values:
        return None, ()
    parsed = [(v, parse(family, v)) for v in values]
    newest = values[-1]
    newest_v = parse(family, newest)
    for value, version in parsed:
        if version is not None and newest_v is not None:
            order = compare(version, newest_v)
            if order is not None and order > 0:
                newest, newest_v = value, version
    return newest[:64], tuple(v[:64] for v in values if v != newest)


def _range(family: Family, entry: dict[str, Any]) -> Range | None:
    start = str(entry.get("version", "")).strip()
    start_value = None if start.lower() in _ANY else start[:64]
    changes = tuple(
        str(c["at"])[:64]
        for c in entry.get("changes") or []
        if isinstance(c, dict) and c.get("status") == "unaffected" and c.get("at")
    )[:16]
    for field, inclusive in (("lessThan", False), ("lessThanOrEqual", True)):
        bound = entry.get(field)
        if not isinstance(bound, str):
            continue
        bound = bound.strip()
        if bound.endswith("*"):  # every release of that line ("21.1*")
            line = bound.rstrip("*").rstrip(".") or None
            if bound in ("*",):
                return Range(start=start_value, fixes=changes)
            return Range(start=start_value, line=line, fixes=changes)
        end, fixes = _bounds(family, bound)
        return Range(
            start=start_value, end=end, end_inclusive=inclusive, fixes=(*fixes, *changes)[:16]
        )
    return None


def read_cve5(doc: dict[str, Any]) -> list[Advisory]:
    """The record of one CVE JSON 5 document (none for a rejected CVE); a ``ValueError`` when
    it is not one."""
    if not is_cve5(doc):
        raise ValueError("not a CVE JSON 5 record (dataType CVE_RECORD)")
    meta = doc.get("cveMetadata") or {}
    cve = short(meta.get("cveId"), 32)
    if cve is None:
        raise ValueError("CVE record without cveMetadata.cveId")
    if meta.get("state") == "REJECTED":
        return []
    cna = doc["containers"].get("cna") or {}
    adps = doc["containers"].get("adp") or []
    grouped: dict[Family, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    vendor_name = None
    products = cna.get("affected") or []
    if len(products) > MAX_AFFECTED:
        raise ValueError(f"more than {MAX_AFFECTED} affected products")
    for product in products:
        if not isinstance(product, dict):
            continue
        vendor, name = short(product.get("vendor"), 64), short(product.get("product"), 200)
        family = family_of_product(vendor, name)
        if family is None:
            continue
        vendor_name = vendor_name or vendor
        parts = grouped[family]
        for platform in product.get("platforms") or []:
            if isinstance(platform, str) and platform.strip():
                parts["platforms"].append(platform.strip()[:64])
        if product.get("defaultStatus") == "affected":
            parts["ranges"].append(Range())
        versions = product.get("versions") or []
        for entry in versions[:MAX_VERSIONS]:
            if not isinstance(entry, dict):
                continue
            status = entry.get("status")
            version = str(entry.get("version", "")).strip()[:64]
            rng = _range(family, entry)
            if status == "affected":
                if rng is not None:
                    parts["ranges"].append(rng)
                    parts["fixed"].extend(v for v in (rng.end, *rng.fixes) if v)
                elif version.lower() not in _ANY:
                    parts["affected"].append(version)
                else:
                    parts["ranges"].append(Range())
            elif status == "unaffected" and rng is None and version.lower() not in _ANY:
                parts["not_affected"].append(version)
    affected = affected_of(grouped)
    score, severity, cvss_version, vector = _metric(cna.get("metrics"))
    if score is None:
        for adp in adps:
            if isinstance(adp, dict):
                score, severity, cvss_version, vector = _metric(adp.get("metrics"))
                if score is not None:
                    break
    title = short(cna.get("title"))
    description = next(
        (
            short(d.get("value"))
            for d in cna.get("descriptions") or []
            if isinstance(d, dict) and str(d.get("lang", "")).startswith("en")
        ),
        None,
    )
    configuration = " ".join(
        short(c.get("value"), 500) or "" for c in cna.get("configurations") or [] if c
    )
    feature, words = feature_of(title or (description or "")[:300], configuration or None)
    remediation = next(
        (short(s.get("value"), 1900) for s in cna.get("solutions") or [] if isinstance(s, dict)),
        None,
    )
    url = tagged_url(cna.get("references"), "vendor-advisory")
    return [
        Advisory(
            key=f"cve5:{cve}",
            source="cve5",
            advisory_id=cve,
            cve=cve,
            title=title or (description or "")[:300] or None,
            vendor=vendor_name,
            url=url,
            published=short(meta.get("datePublished"), 64),
            updated=short(meta.get("dateUpdated"), 64),
            cvss_score=score,
            cvss_vector=vector,
            cvss_version=cvss_version,
            severity=severity,
            exploited=_exploited(cna, adps),
            affected=affected,
            remediation=remediation,
            feature=feature,
            condition=words,
        )
    ]
