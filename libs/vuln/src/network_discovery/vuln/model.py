"""One advisory, as every feed format is read into: what it affects and how bad it is.

A record is one vulnerability (one CVE, or the vendor's id where it names none) as one source
tells it: a CSAF document with three CVEs is three records. ``key`` names a record across
loads (the source, the document and the CVE), so that loading the same file again replaces
what it said rather than adding to it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from network_discovery.vuln.versions import Family

__all__ = [
    "FEATURES",
    "Advisory",
    "Affected",
    "Feature",
    "Range",
    "Source",
]

Source = Literal["csaf", "nvd", "cve5"]
#: Configured features a condition can name, and what the device record says of each.
Feature = Literal["http_server", "telnet", "ssh", "snmp", "bgp", "smart_install", "other"]
FEATURES: tuple[Feature, ...] = (
    "http_server",
    "telnet",
    "ssh",
    "snmp",
    "bgp",
    "smart_install",
    "other",
)

Text = Annotated[str, Field(max_length=64)]
LongText = Annotated[str, Field(max_length=2000)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Range(_Frozen):
    """Versions from ``start`` up to ``end``: ``start`` None is the first version, ``end`` None
    has no end. ``fixes`` are further fixed versions of earlier releases inside the range
    ("prior to 22.4R2-S2, 22.4R3": 22.4R2-S2 fixes the 22.4R2 release line, 22.4R3 ends the
    range); ``line`` keeps the range to one release line (Junos ``21.1*``: every 21.1)."""

    start: Text | None = None
    start_inclusive: bool = True
    end: Text | None = None
    end_inclusive: bool = False
    fixes: tuple[Text, ...] = Field(default=(), max_length=16)
    line: Text | None = None


class Affected(_Frozen):
    """What one family's software the record affects: exact versions, ranges, or both; and
    the versions it names as fixed or not affected."""

    family: Family
    versions: tuple[Text, ...] = Field(default=(), max_length=5000)
    ranges: tuple[Range, ...] = Field(default=(), max_length=500)
    fixed: tuple[Text, ...] = Field(default=(), max_length=5000)
    not_affected: tuple[Text, ...] = Field(default=(), max_length=5000)
    #: Hardware the statement is limited to, as the vendor names it ("EX Series").
    platforms: tuple[Text, ...] = Field(default=(), max_length=64)


class Advisory(_Frozen):
    key: Annotated[str, Field(max_length=300)]
    source: Source
    #: The advisory's own id (cisco-sa-…, JSA…, the CVE for NVD and CVE records).
    advisory_id: Annotated[str, Field(max_length=200)]
    cve: Annotated[str, Field(max_length=32)] | None = None
    title: LongText | None = None
    vendor: Text | None = None
    url: Annotated[str, Field(max_length=1000)] | None = None
    published: Text | None = None
    updated: Text | None = None
    cvss_score: float | None = Field(default=None, ge=0, le=10)
    cvss_vector: Annotated[str, Field(max_length=300)] | None = None
    cvss_version: Text | None = None
    severity: Literal["none", "low", "medium", "high", "critical"] | None = None
    #: Exploited in the wild, where the feed says so (True / False); None: the feed is silent.
    exploited: bool | None = None
    affected: tuple[Affected, ...] = Field(default=(), max_length=16)
    #: What the vendor says to do: its fix, else a workaround (shortened).
    remediation: LongText | None = None
    #: The configured feature the vulnerability needs, where the advisory says one.
    feature: Feature | None = None
    #: The advisory's own words on that condition (shortened).
    condition: LongText | None = None
