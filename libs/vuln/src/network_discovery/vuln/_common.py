"""What every feed reader shares: CVSS vectors, product and CPE names, feature conditions,
records, text."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cpe import CPE
from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from network_discovery.vuln.model import Affected, Feature
from network_discovery.vuln.versions import Family

__all__ = [
    "affected_of",
    "cpe_fields",
    "family_of_cpe",
    "family_of_product",
    "feature_of",
    "score_vector",
    "short",
    "tagged_url",
]


def short(value: Any, limit: int = 2000) -> str | None:
    """``value`` as one line of at most ``limit`` characters; None when not text or empty."""
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text[:limit] if text else None


_SEVERITIES = {"none", "low", "medium", "high", "critical"}


def score_vector(
    vector: Any, given_score: Any = None
) -> tuple[float | None, str | None, str | None, str | None]:
    """(base score, severity, CVSS version, vector) from a vector string, computed by the
    ``cvss`` library; a vector it refuses keeps the feed's score and no severity is guessed
    beyond what the score's band says."""
    if not isinstance(vector, str) or not vector.strip() or len(vector) > 300:
        return None, None, None, None
    text = vector.strip()
    try:
        if text.startswith("CVSS:4.0/"):
            v4 = CVSS4(text)
            return float(v4.base_score), str(v4.severity).lower(), "4.0", v4.clean_vector()
        if text.startswith("CVSS:3."):
            v3 = CVSS3(text)
            return (
                float(v3.scores()[0]),
                str(v3.severities()[0]).lower(),
                text[5:8],
                v3.clean_vector(),
            )
        v2 = CVSS2(text.removeprefix("(").removesuffix(")"))
        score = float(v2.scores()[0])
        return score, _band_v2(score), "2.0", v2.clean_vector()
    except (CVSSError, ValueError, KeyError, IndexError):
        given = given_score if isinstance(given_score, int | float) else None
        if given is None or not 0 <= given <= 10:
            return None, None, None, None
        return float(given), None, None, None


def _band_v2(score: float) -> str:
    return "low" if score < 4 else "medium" if score < 7 else "high"


# --- products ----------------------------------------------------------------------------------

_PRODUCTS: tuple[tuple[re.Pattern[str], Family], ...] = (
    (re.compile(r"\bios[ _-]?xe\b", re.I), "ios_xe"),
    (re.compile(r"\bnx[ _-]?os\b", re.I), "nxos"),
    (re.compile(r"\bjunos(?: os)?\b", re.I), "junos"),
    (re.compile(r"\beos\b", re.I), "eos"),
    (re.compile(r"\bios\b", re.I), "ios"),
)
_NOT_FAMILIES = re.compile(r"\bios[ _-]?xr\b|evolved|\bevo\b|cloudvision|\bcvp\b|\bfxos\b", re.I)


def family_of_product(vendor: str | None, product: str | None) -> Family | None:
    """The family a vendor's product name is ("Cisco IOS XE Software", "IOS", "Junos OS",
    "EOS"); None for any other product (IOS XR, Junos OS Evolved, NX-OS in ACI mode…)."""
    name = f"{vendor or ''} {product or ''}"
    if not product or _NOT_FAMILIES.search(product) or re.search(r"\baci\b", product, re.I):
        return None
    low = name.lower()
    for pattern, family in _PRODUCTS:
        if pattern.search(product):
            if family == "junos" and "juniper" not in low and "junos" not in product.lower():
                return None
            if family == "eos" and "arista" not in low:
                return None
            if family in ("ios", "ios_xe", "nxos") and vendor and "cisco" not in vendor.lower():
                return None
            return family
    return None


_CPE_FAMILIES: dict[tuple[str, str], Family] = {
    ("cisco", "ios"): "ios",
    ("cisco", "ios_xe"): "ios_xe",
    ("cisco", "nx-os"): "nxos",
    ("cisco", "nx_os"): "nxos",
    ("juniper", "junos"): "junos",
    ("arista", "eos"): "eos",
}


def family_of_cpe(vendor: str, product: str) -> Family | None:
    return _CPE_FAMILIES.get((vendor.lower(), product.lower()))


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value, flags=re.S)


def cpe_fields(text: str) -> tuple[Family, str, str] | None:
    """(family, version, update) of a CPE name, unescaped ("" where the name has none); None
    when the text is not a CPE or names no family here."""
    if len(text) > 500:
        return None
    try:
        parsed = CPE(text)
    except (NotImplementedError, ValueError, TypeError):
        return None
    vendor, product = parsed.get_vendor(), parsed.get_product()
    if not vendor or not product:
        return None
    family = family_of_cpe(_unescape(vendor[0]), _unescape(product[0]))
    if family is None:
        return None
    version = _unescape(parsed.get_version()[0]) if parsed.get_version() else ""
    update = _unescape(parsed.get_update()[0]) if parsed.get_update() else ""
    return family, version, update


# --- records -----------------------------------------------------------------------------------


def affected_of(grouped: Mapping[Family, Mapping[str, list[Any]]]) -> tuple[Affected, ...]:
    """One ``Affected`` a family, from the lists a reader gathered under ``affected``,
    ``ranges``, ``fixed``, ``not_affected`` and ``platforms`` (each kept once, in order);
    families with neither versions nor ranges are left out."""
    return tuple(
        Affected(
            family=family,
            versions=tuple(dict.fromkeys(parts.get("affected", ()))),
            ranges=tuple(dict.fromkeys(parts.get("ranges", ()))),
            fixed=tuple(dict.fromkeys(parts.get("fixed", ()))),
            not_affected=tuple(dict.fromkeys(parts.get("not_affected", ()))),
            platforms=tuple(dict.fromkeys(parts.get("platforms", ()))),
        )
        for family, parts in sorted(grouped.items())
        if parts.get("affected") or parts.get("ranges")
    )


def tagged_url(references: Any, tag: str) -> str | None:
    """The first reference URL carrying ``tag`` among its tags."""
    return next(
        (
            short(r.get("url"), 1000)
            for r in references or []
            if isinstance(r, dict) and tag in (r.get("tags") or [])
        ),
        None,
    )


# --- feature conditions ------------------------------------------------------------------------

_FEATURES: tuple[tuple[re.Pattern[str], Feature], ...] = (
    (re.compile(r"smart install", re.I), "smart_install"),
    (
        re.compile(
            r"web ui|web-based (?:user interface|management)|\bhttps? server|\bj-web\b|"
            r"web-management|\bip http\b|http\(s\) server|web services? management|"
            # NX-OS's NX-API answers over HTTP(S) (feature nxapi), as the eAPI does on EOS
            r"\bnx-api\b|\beapi\b",
            re.I,
        ),
        "http_server",
    ),
    (re.compile(r"\bsnmp\b", re.I), "snmp"),
    (re.compile(r"\btelnet\b", re.I), "telnet"),
    (re.compile(r"\bssh\b", re.I), "ssh"),
    (re.compile(r"\bbgp\b|border gateway protocol", re.I), "bgp"),
)
_PROTOCOLS = re.compile(
    r"\b(ospf(?:v3)?|eigrp|is-is|isis|cdp|discovery protocol|lldp|ikev2|ikev1|ipsec|nat|dhcp"
    r"(?:v6)?|pim|igmp|msdp|vxlan|evpn|mpls|ldp|rsvp|l2tp|ntp|radius|tacacs\+?|netconf|"
    r"restconf|grpc|gnmi|dns|udld|profinet|ethernet/ip|cip|ptp|vrrp|hsrp|bfd|"
    r"sip alg|dot1x|802\.1x|macsec|openflow|guestshell|lisp|sd-access|nbar|utd|appqoe|"
    r"vpn|anyconnect|ssl vpn|webvpn|wccp|ipv6 multicast|redundancy protocol)\b",
    re.I,
)


def feature_of(*texts: str | None) -> tuple[Feature | None, str | None]:
    """The configured feature a vulnerability needs, from its title (and the advisory's
    configuration note where it has one): (feature, the words that named it). A protocol
    the device record does not describe is "other"; no such words: (None, None)."""
    joined = " ".join(t for t in texts if t)
    for pattern, feature in _FEATURES:
        found = pattern.search(joined)
        if found is not None:
            return feature, found.group()
    found = _PROTOCOLS.search(joined)
    if found is not None:
        return "other", found.group()
    return None, None
