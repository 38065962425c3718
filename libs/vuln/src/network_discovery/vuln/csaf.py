"""CSAF 2.0 advisories (OASIS; what Cisco, Juniper and Arista publish) into records.

The product tree is walked from each leaf up: the vendor and product names above a leaf say
its family (``family_of_product``), the leaf's own name its version (``product_version``, or
Cisco's ``service_pack`` leaves under a train), a ``product_version_range`` a range (a
``vers:`` expression, or ``<X`` / ``>=X`` text). Relationships (a version installed on a
platform) take the family and version of the product they refer to. A CPE in a leaf's
identification helper is read when the names do not say.

Per vulnerability: ``known_affected``, ``first_affected`` and ``last_affected`` are affected;
``fixed`` and ``first_fixed`` fixed; ``known_not_affected`` not affected. The score kept is
the first CVSS v3 of the vulnerability, else v4, else v2, recomputed from its vector. An
``exploit_status`` threat that says the vendor is aware of exploitation marks it exploited;
one that says it is not aware, not exploited; no such threat leaves it unknown.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from network_discovery.vuln._common import (
    affected_of,
    cpe_fields,
    family_of_product,
    feature_of,
    score_vector,
    short,
)
from network_discovery.vuln.model import Advisory, Range
from network_discovery.vuln.versions import Family

__all__ = ["is_csaf", "range_of", "read_csaf"]

MAX_VULNERABILITIES = 1000
MAX_PRODUCTS = 50_000
MAX_DEPTH = 12

_VERSION_LEAVES = {"product_version", "service_pack", "patch_level"}
_NAME_LEVELS = {"vendor", "product_family", "product_name", "product_version_range"}


def is_csaf(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("document"), dict)
        and str(doc["document"].get("csaf_version", "")).startswith("2.")
    )


class _Product:
    __slots__ = ("family", "range", "version")

    def __init__(self, family: Family, version: str | None, rng: Range | None) -> None:
        self.family, self.version, self.range = family, version, rng


def _from_cpe(text: Any) -> tuple[Family, str | None] | None:
    fields = cpe_fields(text) if isinstance(text, str) else None
    if fields is None:
        return None
    family, version, update = fields
    if version in ("", "*", "-"):
        return family, None
    if family == "junos" and update not in ("", "*", "-"):
        version = f"{version}{update.upper()}"
    return family, version


_VERS = re.compile(r"(<=|>=|<|>|=|!=)?\s*(\S+)")


def range_of(text: str) -> Range | None:
    """A range from a ``vers:`` expression (``vers:generic/>=21.4|<21.4R3-S5``) or from plain
    constraints (``<21.4R3-S5``, ``>= 4.28.0F < 4.28.3M``); None when the text is neither."""
    body = text.strip()
    if body.startswith("vers:"):
        _, _, body = body.partition("/")
    parts = [p for p in re.split(r"[|,]|\s+(?=[<>=!])", body) if p.strip()]
    start: str | None = None
    end: str | None = None
    start_inclusive = True
    end_inclusive = False
    for part in parts:
        m = _VERS.fullmatch(part.strip())
        if m is None:
            return None
        op, value = m.group(1) or "=", m.group(2)
        if op in (">=", ">"):
            start, start_inclusive = value, op == ">="
        elif op in ("<", "<="):
            end, end_inclusive = value, op == "<="
        elif op == "=" and len(parts) == 1:
            return Range(start=value, end=value, end_inclusive=True)
        else:
            return None
    if start is None and end is None:
        return None
    return Range(start=start, start_inclusive=start_inclusive, end=end, end_inclusive=end_inclusive)


def _products(tree: dict[str, Any]) -> dict[str, _Product]:
    """Every product id of the tree whose family this module knows, with its version."""
    found: dict[str, _Product] = {}
    counted = 0

    def walk(branch: dict[str, Any], names: list[tuple[str, str]], depth: int) -> None:
        nonlocal counted
        counted += 1
        if counted > MAX_PRODUCTS or depth > MAX_DEPTH:
            return
        category = str(branch.get("category", ""))
        name = str(branch.get("name", ""))[:200]
        here = [*names, (category, name)]
        product = branch.get("product")
        if isinstance(product, dict) and isinstance(product.get("product_id"), str):
            _leaf(product, here)
        for child in branch.get("branches") or []:
            if isinstance(child, dict):
                walk(child, here, depth + 1)

    def _leaf(product: dict[str, Any], names: list[tuple[str, str]]) -> None:
        vendor = next((n for c, n in names if c == "vendor"), None)
        family: Family | None = None
        for category, name in names:
            if category in _NAME_LEVELS - {"vendor"}:
                family = family_of_product(vendor, name) or family
        version: str | None = None
        rng: Range | None = None
        leaf_category, leaf_name = names[-1]
        if leaf_category in _VERSION_LEAVES:
            version = leaf_name
        elif leaf_category == "product_version_range":
            rng = range_of(leaf_name)
        helper = product.get("product_identification_helper") or {}
        by_cpe = _from_cpe(helper.get("cpe")) if isinstance(helper, dict) else None
        if family is None and by_cpe is not None:
            family = by_cpe[0]
        if version is None and rng is None and by_cpe is not None and by_cpe[0] == family:
            version = by_cpe[1]
        if family is not None and (version or rng):
            found[product["product_id"]] = _Product(family, version, rng)

    for branch in tree.get("branches") or []:
        if isinstance(branch, dict):
            walk(branch, [], 0)
    for full in tree.get("full_product_names") or []:
        if isinstance(full, dict) and isinstance(full.get("product_id"), str):
            helper = full.get("product_identification_helper") or {}
            by_cpe = _from_cpe(helper.get("cpe")) if isinstance(helper, dict) else None
            if by_cpe is not None and by_cpe[1]:
                found[full["product_id"]] = _Product(by_cpe[0], by_cpe[1], None)
    for relation in tree.get("relationships") or []:
        if not isinstance(relation, dict):
            continue
        ref = relation.get("product_reference")
        full = relation.get("full_product_name") or {}
        if ref in found and isinstance(full, dict) and isinstance(full.get("product_id"), str):
            found[full["product_id"]] = found[ref]
    return found


def _exploited(threats: Any) -> bool | None:
    verdict: bool | None = None
    for threat in threats or []:
        if not isinstance(threat, dict) or threat.get("category") != "exploit_status":
            continue
        text = str(threat.get("details", "")).lower()
        if re.search(r"not aware|no (?:known|public|evidence)|unaware", text):
            verdict = False if verdict is None else verdict
        elif re.search(r"exploit", text):
            return True
    return verdict


def _score(scores: Any) -> tuple[float | None, str | None, str | None, str | None]:
    best: tuple[float | None, str | None, str | None, str | None] = (None, None, None, None)
    for wanted in ("cvss_v3", "cvss_v4", "cvss_v2"):
        for entry in scores or []:
            if not isinstance(entry, dict) or not isinstance(entry.get(wanted), dict):
                continue
            metric = entry[wanted]
            found = score_vector(metric.get("vectorString"), metric.get("baseScore"))
            if found[0] is not None:
                return found
    return best


def _remediation(remediations: Any) -> str | None:
    for wanted in ("vendor_fix", "workaround", "mitigation"):
        for entry in remediations or []:
            if isinstance(entry, dict) and entry.get("category") == wanted:
                text = short(entry.get("details"), 1900)
                if text:
                    return text if wanted == "vendor_fix" else f"{wanted}: {text}"
    return None


def _ids(status: dict[str, Any], *names: str) -> list[str]:
    out: list[str] = []
    for name in names:
        out.extend(p for p in status.get(name) or [] if isinstance(p, str))
    return out


def read_csaf(doc: dict[str, Any]) -> list[Advisory]:
    """The records of one CSAF document; a ``ValueError`` when it is not a CSAF 2.x one."""
    if not is_csaf(doc):
        raise ValueError("not a CSAF 2.x document (document.csaf_version)")
    document = doc["document"]
    tracking = document.get("tracking") or {}
    tracking_id = short(tracking.get("id"), 200)
    if tracking_id is None:
        raise ValueError("CSAF document without document.tracking.id")
    products = _products(doc.get("product_tree") or {})
    vendor = short((document.get("publisher") or {}).get("name"), 64)
    url = next(
        (
            short(r.get("url"), 1000)
            for r in document.get("references") or []
            if isinstance(r, dict) and r.get("category") == "self"
        ),
        None,
    )
    doc_title = short(document.get("title"))
    records = []
    vulnerabilities = doc.get("vulnerabilities") or []
    if len(vulnerabilities) > MAX_VULNERABILITIES:
        raise ValueError(f"more than {MAX_VULNERABILITIES} vulnerabilities in one document")
    for vuln in vulnerabilities:
        if not isinstance(vuln, dict):
            continue
        cve = short(vuln.get("cve"), 32)
        status = vuln.get("product_status") or {}
        grouped: dict[Family, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
        for kind, names in (
            ("affected", ("known_affected", "first_affected", "last_affected")),
            ("fixed", ("fixed", "first_fixed")),
            ("not_affected", ("known_not_affected",)),
        ):
            for pid in _ids(status, *names):
                product = products.get(pid)
                if product is None:
                    continue
                if product.version:
                    grouped[product.family][kind].append(product.version[:64])
                elif product.range is not None and kind == "affected":
                    grouped[product.family]["ranges"].append(product.range)
        affected = affected_of(grouped)
        score, severity, version, vector = _score(vuln.get("scores"))
        title = short(vuln.get("title")) or doc_title
        feature, words = feature_of(doc_title, short(vuln.get("title")))
        records.append(
            Advisory(
                key=f"csaf:{tracking_id}:{cve or tracking_id}"[:300],
                source="csaf",
                advisory_id=tracking_id,
                cve=cve,
                title=title,
                vendor=vendor,
                url=url,
                published=short(tracking.get("initial_release_date"), 64),
                updated=short(tracking.get("current_release_date"), 64),
                cvss_score=score,
                cvss_vector=vector,
                cvss_version=version,
                severity=severity,
                exploited=_exploited(vuln.get("threats")),
                remediation=_remediation(vuln.get("remediations")),
                affected=affected,
                feature=feature,
                condition=words,
            )
        )
    return records
