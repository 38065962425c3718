"""Which advisories a device is exposed to: its software family and version against each
record's versions and ranges, then the record's feature condition against the device's
configuration facts.

A finding's ``status`` is one of:

- ``affected``: the version is affected and either the vulnerability needs no particular
  feature, or the configuration shows the feature it needs is on;
- ``affected if configured``: the version is affected, the vulnerability needs a feature, and
  the configuration facts do not say whether it is on (no configuration collected, or a
  feature those facts do not describe); ``reason`` says which;
- ``not affected (feature off)``: the version is affected but the configuration shows the
  feature off;
- ``unknown``: the version cannot be ordered against the record's ranges (another train, a
  version text the family's grammar does not read).

A version that is not affected gives no finding. Where several sources speak of one CVE for
a device, the vendor's CSAF is believed first, then the CVE record, then NVD: the first that
decides (affected or not) answers; only when none decides is the finding ``unknown``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from network_discovery.vuln.model import Advisory, Affected, Range
from network_discovery.vuln.versions import Family, Version, compare, family_of, parse, same_release

__all__ = [
    "STATUSES",
    "AdvisoryIndex",
    "DeviceFacts",
    "Finding",
    "match_device",
    "match_devices",
    "version_verdict",
]

STATUSES = ("affected", "affected if configured", "not affected (feature off)", "unknown")
_RANK = {"csaf": 0, "cve5": 1, "nvd": 2}


@dataclass(frozen=True)
class DeviceFacts:
    device: str
    hostname: str | None = None
    platform: str | None = None
    model: str | None = None
    os_version: str | None = None
    #: "configuration": the settings below were read from its configuration.
    settings_source: str | None = None
    remote_access: tuple[str, ...] = ()
    snmp_versions: tuple[str, ...] = ()
    #: BGP sessions the graph holds for the device (None: not asked).
    bgp_sessions: int | None = None

    @property
    def family(self) -> Family | None:
        return family_of(self.platform, self.os_version)


@dataclass(frozen=True)
class Finding:
    device: DeviceFacts
    advisory: Advisory
    status: str
    reason: str
    fixed_in: tuple[str, ...] = field(default=())


def _eq(family: Family, version: Version, text: str) -> bool:
    other = parse(family, text)
    if other is None:
        return text.strip().lower() == version.text.lower()
    return compare(version, other) == 0


def _in_line(version: Version, line: str) -> bool:
    text = version.text.upper()
    prefix = line.strip().upper()
    return text.startswith(prefix) and not text[len(prefix) : len(prefix) + 1].isdigit()


def _in_range(family: Family, version: Version, rng: Range) -> bool | None:
    """Whether ``version`` is inside ``rng`` (None: cannot be told)."""
    if rng.line is not None and not _in_line(version, rng.line):
        return False
    if rng.start is not None:
        start = parse(family, rng.start)
        order = compare(version, start) if start is not None else None
        if order is None:
            return None
        if order < 0 or (order == 0 and not rng.start_inclusive):
            return False
    if rng.end is not None:
        end = parse(family, rng.end)
        order = compare(version, end) if end is not None else None
        if order is None:
            return None
        if order > 0 or (order == 0 and not rng.end_inclusive):
            return False
    for text in rng.fixes:
        fix = parse(family, text)
        if fix is not None and same_release(version, fix):
            order = compare(version, fix)
            if order is not None and order >= 0:
                return False
    return True


def _newer_fixes(family: Family, version: Version, texts: Iterable[str]) -> list[str]:
    out = []
    for text in texts:
        fix = parse(family, text)
        order = compare(fix, version) if fix is not None else None
        if order is not None and order > 0:
            out.append(text)
    return out


def version_verdict(
    family: Family, version: Version, affected: Affected
) -> tuple[bool | None, tuple[str, ...]]:
    """(affected: True / False / None for cannot tell, the fixed versions that apply)."""
    if any(_eq(family, version, v) for v in affected.not_affected):
        return False, ()
    if any(_eq(family, version, v) for v in affected.versions):
        return True, tuple(_newer_fixes(family, version, affected.fixed)[:8])
    return _ranges_verdict(family, version, affected.ranges)


def _ranges_verdict(
    family: Family, version: Version, ranges: Sequence[Range]
) -> tuple[bool | None, tuple[str, ...]]:
    undecided = False
    for rng in ranges:
        inside = _in_range(family, version, rng)
        if inside is None:
            undecided = True
        elif inside:
            fixes = [
                t
                for t in rng.fixes
                if (f := parse(family, t)) is not None and same_release(version, f)
            ]
            ends = [rng.end] if rng.end and not rng.end_inclusive else []
            later = _newer_fixes(family, version, [*fixes, *ends])
            return True, tuple(dict.fromkeys(later))[:8]
    return (None if undecided else False), ()


def _platform_reason(facts: DeviceFacts, platforms: tuple[str, ...]) -> tuple[bool, str | None]:
    """(still affected, a note): a statement limited to some hardware ("EX Series")."""
    if not platforms:
        return True, None
    return _platform_answer(facts.model, platforms)


@functools.lru_cache(maxsize=4096)
def _platform_answer(model_name: str | None, platforms: tuple[str, ...]) -> tuple[bool, str | None]:
    names = ", ".join(platforms)
    if not model_name:
        return True, f"limited to {names}; the device's model is not known"
    model = model_name.upper().replace(" ", "")
    for platform in platforms:
        series = platform.split()[0].upper().rstrip("-")
        if series and (model.startswith(series) or series in model):
            return True, None
    return False, None


_FEATURE_NAMES = {
    "http_server": "the HTTP/HTTPS server (web UI)",
    "telnet": "Telnet",
    "ssh": "SSH",
    "snmp": "SNMP",
    "bgp": "BGP",
    "smart_install": "Smart Install",
}


def _feature_verdict(facts: DeviceFacts, advisory: Advisory) -> tuple[str, str]:
    if advisory.feature is None:
        return "affected", "the version is affected"
    return _feature_answer(
        advisory.feature,
        advisory.condition,
        facts.settings_source,
        facts.remote_access,
        bool(facts.snmp_versions),
        bool(facts.bgp_sessions),
    )


@functools.lru_cache(maxsize=4096)
def _feature_answer(
    feature: str | None,
    condition: str | None,
    settings_source: str | None,
    remote_access: tuple[str, ...],
    snmp: bool,
    bgp: bool,
) -> tuple[str, str]:
    if feature is None:
        return "affected", "the version is affected"
    name = _FEATURE_NAMES.get(feature, condition or "a feature")
    if feature in ("other", "smart_install"):
        return (
            "affected if configured",
            f"the version is affected when {name} is in use; the configuration facts "
            "collected do not describe it",
        )
    if feature == "bgp":
        if bgp:
            return "affected", "the version is affected and the graph holds BGP sessions of it"
        return (
            "affected if configured",
            "the version is affected when BGP is configured; the graph holds no BGP session "
            "of the device",
        )
    if settings_source != "configuration":
        return (
            "affected if configured",
            f"the version is affected when {name} is on; no configuration of the device was "
            "collected",
        )
    access = set(remote_access)
    on = {
        "http_server": bool(access & {"http", "https"}),
        "telnet": "telnet" in access,
        "ssh": "ssh" in access,
        "snmp": snmp,
    }[feature]
    if on:
        return "affected", f"the version is affected and {name} is on in its configuration"
    return (
        "not affected (feature off)",
        f"the version is affected but {name} is off in its configuration",
    )


#: One CVE's candidate statements for a family, the vendor's first.
_Candidates = list[tuple[Advisory, Affected]]
#: (verdict, fixed) of each candidate for one version, in the candidates' order.
_Verdicts = list[tuple[bool | None, tuple[str, ...]]]


class AdvisoryIndex:
    """The advisories arranged for matching many devices: per family, each CVE's candidate
    statements in the order they are believed; each statement's exact versions as a set; and
    each distinct device version's verdicts worked out once."""

    def __init__(self, advisories: Iterable[Advisory]) -> None:
        by_family: dict[Family, dict[str, _Candidates]] = {}
        for advisory in advisories:
            for statement in advisory.affected:
                cves = by_family.setdefault(statement.family, {})
                cves.setdefault(advisory.cve or advisory.key, []).append((advisory, statement))
        for cves in by_family.values():
            for candidates in cves.values():
                candidates.sort(key=lambda c: (_RANK[c[0].source], c[0].key))
        self._by_family = {f: sorted(c.items()) for f, c in by_family.items()}
        self._exact: dict[int, tuple[frozenset[tuple[object, ...]], frozenset[tuple[object, ...]]]]
        self._exact = {}
        self._verdicts: dict[tuple[Family, str], list[_Verdicts]] = {}
        self._outcomes: dict[tuple[Family, str], list[Any]] = {}

    @staticmethod
    def _key(family: Family, text: str) -> tuple[object, ...]:
        version = parse(family, text)
        return ("text", text.strip().lower()) if version is None else (version.train, version.key)

    def _sets(self, statement: Affected) -> tuple[frozenset[tuple[object, ...]], ...]:
        found = self._exact.get(id(statement))
        if found is None:
            family = statement.family
            found = (
                frozenset(self._key(family, v) for v in statement.versions),
                frozenset(self._key(family, v) for v in statement.not_affected),
            )
            self._exact[id(statement)] = found
        return found

    def _verdict(
        self, family: Family, version: Version, statement: Affected
    ) -> tuple[bool | None, tuple[str, ...]]:
        affected, not_affected = self._sets(statement)
        key = (version.train, version.key)
        if key in not_affected:
            return False, ()
        if key in affected:
            return True, tuple(_newer_fixes(family, version, statement.fixed)[:8])
        return _ranges_verdict(family, version, statement.ranges)

    def cves(self, family: Family) -> list[tuple[str, _Candidates]]:
        return self._by_family.get(family, [])

    def outcomes(self, family: Family, text: str) -> list[Any]:
        """What ``text`` gives, per CVE that affects it or cannot be told (``_outcomes``)."""
        found = self._outcomes.get((family, text))
        if found is None:
            found = self._outcomes[(family, text)] = _outcomes(self, family, text)
        return found

    def verdicts(self, family: Family, text: str) -> list[_Verdicts]:
        """Per CVE of the family (in ``cves`` order), each candidate's verdict for ``text``."""
        cached = self._verdicts.get((family, text))
        if cached is not None:
            return cached
        version = parse(family, text)
        out: list[_Verdicts] = []
        for _cve, candidates in self.cves(family):
            if version is None:
                out.append([(None, ())] * len(candidates))
            else:
                out.append([self._verdict(family, version, st) for _adv, st in candidates])
        self._verdicts[(family, text)] = out
        return out


#: What a version gives for one CVE: the statement that says it is affected (with its fixes),
#: or the record that could not tell (``statement`` None).
_Outcome = tuple[Advisory, Affected | None, tuple[str, ...]]


def _outcomes(index: AdvisoryIndex, family: Family, text: str) -> list[_Outcome]:
    """Per CVE the version is (or may be) affected by: the deciding statement, or the first
    record that could not tell; CVEs that do not affect it are left out."""
    out: list[_Outcome] = []
    for (_cve, candidates), verdicts in zip(
        index.cves(family), index.verdicts(family, text), strict=True
    ):
        undecided: Advisory | None = None
        for (advisory, statement), (verdict, fixed) in zip(candidates, verdicts, strict=True):
            if verdict is None:
                undecided = undecided or advisory
                continue
            if verdict:
                out.append((advisory, statement, fixed))
            break
        else:
            if undecided is not None:
                out.append((undecided, None, ()))
    return out


def match_device(
    facts: DeviceFacts, advisories: Iterable[Advisory] | AdvisoryIndex
) -> list[Finding]:
    """The findings of one device (none for a device without a known family and version)."""
    index = advisories if isinstance(advisories, AdvisoryIndex) else AdvisoryIndex(advisories)
    family = facts.family
    if family is None or not facts.os_version:
        return []
    text = facts.os_version
    findings = []
    for advisory, statement, fixed in index.outcomes(family, text):
        if statement is None:
            why = (
                f"{text} cannot be ordered against the versions it names"
                if parse(family, text) is not None
                else f"{text} is not a {family} version this reads"
            )
            findings.append(Finding(facts, advisory, "unknown", why))
            continue
        on_platform, note = _platform_reason(facts, statement.platforms)
        if not on_platform:
            continue  # the vendor limits it to other hardware
        status, reason = _feature_verdict(facts, advisory)
        if note:
            reason = f"{reason}; {note}"
        findings.append(Finding(facts, advisory, status, reason, fixed))
    return findings


def match_devices(devices: Iterable[DeviceFacts], advisories: Sequence[Advisory]) -> list[Finding]:
    """The findings of every device; each distinct version is matched once."""
    index = AdvisoryIndex(advisories)
    out: list[Finding] = []
    for facts in devices:
        out.extend(match_device(facts, index))
    return out
