"""Alert rules: what to watch, read from YAML.

A rule watches the rows of one catalogue query (the same questions the API answers: metrics,
topology, routing, hygiene, blast radius), and raises one alert per row it picks::

    rules:
      - name: bgp-peer-down              # unique; the alert's ``alertname``
        query: bgp_peers_down            # a catalogue query
        params: {}                       # its parameters
        key: [device, peer_ip]           # the row columns that tell one alert from another
        condition: ""                    # optional, over the row's numeric columns
        resolve_condition: ""            # optional: an open alert holds until the row meets it
        when: present                    # present (default) | absent
        for: 0s                          # how long it must hold before the alert fires
        resolve_after: 0s                # how long it must be gone before the alert resolves
        severity: high                   # info | low | warning | medium | high | critical
        labels: {team: netops}           # added to the alert (and sent to Alertmanager)
        blast_labels: false              # add the device's blast size (blast_endpoints, ...)
        summary: "BGP peer {peer_ip} of {device} is down"

- ``when: present`` fires for every row of the answer that meets ``condition`` (every row
  when there is none); the alert resolves when its row is gone or no longer meets it.
- ``when: absent`` remembers every key the query has answered and fires when one it knew is no
  longer there (a link lost, a device gone); the alert resolves when the key comes back.
- ``for`` holds an alert back until its row has matched for that long (on every evaluation
  in between); ``resolve_after`` keeps a firing alert open until its row has stayed away for
  that long, so a flapping row does not open a new alert on each flap.
- ``resolve_condition`` is hysteresis: an open alert whose row no longer meets ``condition``
  stays open until the row meets it (fire above 80, resolve below 70; unknown holds).
- ``query`` may also name a question the service answers itself (:data:`LOCAL_QUERIES`:
  metric windows, blast figures, redundancy, visibility; ``meshq_alerts.sources``), whose
  ``params`` are checked here.

Conditions use the same grammar as SOAR rules (``meshq_runtime.conditions``, never ``eval``),
with decimals, over the numeric columns of a row: ``utilization_pct > 80 and in_errors > 0``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from meshq_runtime.conditions import Condition, ConditionSyntaxError, parse_condition

__all__ = [
    "SEVERITIES",
    "AlertRule",
    "RuleError",
    "load_rules",
    "parse_duration",
]

SEVERITIES = ("info", "low", "warning", "medium", "high", "critical")
MAX_RULES = 500
MAX_RULES_BYTES = 1_000_000
MAX_KEY_COLUMNS = 8
MAX_LABELS = 32
MAX_TEXT = 500
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_QUERY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")  # Alertmanager / Prometheus label names
_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")
_FIELDS = {
    "name",
    "query",
    "params",
    "key",
    "condition",
    "when",
    "for",
    "resolve_after",
    "severity",
    "labels",
    "summary",
    "description",
    "resolve_condition",
    "blast_labels",
}
#: Questions the alerts service answers itself (every other ``query`` is a catalogue query
#: asked of graph-engine), with their parameters' bounds.
LOCAL_QUERIES = ("interface_window", "device_blast", "device_redundancy", "device_visibility")
MAX_DEPTH = 6
MAX_WINDOW_S = 24 * 3600.0
#: Labels an alert always has, which a rule may not set.
RESERVED_LABELS = frozenset({"alertname", "severity", "alert_id", "fingerprint"})


class RuleError(ValueError):
    """A rule that cannot be used; the message names the rule and the field."""


def parse_duration(value: Any, where: str) -> float:
    """Seconds from ``90s``, ``5m``, ``1h30m``, ``2d`` or a number of seconds (at most 30 days)."""
    if isinstance(value, bool):
        raise RuleError(f"{where}: expected a duration such as 30s, 5m or 1h")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and value.strip() and (match := _DURATION.match(value)):
        d, h, m, s = (int(x) if x else 0 for x in match.groups())
        seconds = float(d * 86400 + h * 3600 + m * 60 + s)
    else:
        raise RuleError(f"{where}: expected a duration such as 30s, 5m or 1h, got {value!r}")
    if not 0 <= seconds <= 30 * 86400:
        raise RuleError(f"{where}: a duration must be between 0 and 30 days")
    return seconds


class _Formatter(string.Formatter):
    """``{column}`` placeholders only: no attribute access, indexing or conversions."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        return kwargs.get(field_name), field_name


_FORMATTER = _Formatter()


def _check_template(text: str, where: str) -> str:
    if len(text) > MAX_TEXT:
        raise RuleError(f"{where}: longer than {MAX_TEXT} characters")
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError as exc:
        raise RuleError(f"{where}: {exc}") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not _COLUMN.match(name) or spec or conversion:
            raise RuleError(f"{where}: placeholders are plain column names like {{device}}")
    return text


def render(template: str, row: Mapping[str, Any]) -> str:
    """A summary with ``{column}`` filled from the row (missing columns: ``?``)."""
    values = {k: ("?" if v is None else v) for k, v in row.items()}
    out = []
    for literal, name, _, _ in _FORMATTER.parse(template):
        out.append(literal)
        if name is not None:
            out.append(str(values.get(name, "?")))
    return "".join(out)[: MAX_TEXT * 2]


@dataclass(frozen=True)
class AlertRule:
    name: str
    query: str
    key: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)
    condition_text: str = ""
    condition: Condition | None = None
    when: Literal["present", "absent"] = "present"
    for_s: float = 0.0
    resolve_after_s: float = 0.0
    severity: str = "warning"
    labels: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    description: str = ""
    resolve_condition_text: str = ""
    resolve_condition: Condition | None = None
    blast_labels: bool = False

    def matches(self, row: Mapping[str, Any]) -> bool:
        return self.condition is None or self.condition(row)

    def holds(self, row: Mapping[str, Any]) -> bool:
        """An open alert's row that no longer meets ``condition`` still holds it until it meets
        ``resolve_condition`` (hysteresis: fire above 80, resolve below 70); an unknown value
        meets neither, so it holds too."""
        return self.resolve_condition is not None and not self.resolve_condition(row)

    def key_of(self, row: Mapping[str, Any]) -> tuple[str, ...] | None:
        """The row's key; None when a key column is missing or null (no alert can be told
        apart from another without it)."""
        values = []
        for column in self.key:
            value = row.get(column)
            if value is None:
                return None
            values.append(str(value))
        return tuple(values)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "query": self.query,
            "params": self.params,
            "key": list(self.key),
            "condition": self.condition_text or None,
            "when": self.when,
            "for_s": self.for_s,
            "resolve_after_s": self.resolve_after_s,
            "severity": self.severity,
            "labels": self.labels,
            "summary": self.summary or None,
            "description": self.description or None,
            "resolve_condition": self.resolve_condition_text or None,
            "blast_labels": self.blast_labels,
        }


def _text(raw: Mapping[str, Any], name: str, where: str, *, required: bool = False) -> str:
    value = raw.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise RuleError(f"{where}: {name} must be a string")
    if required and not value.strip():
        raise RuleError(f"{where}: {name} is required")
    if len(value) > MAX_TEXT:
        raise RuleError(f"{where}: {name} is longer than {MAX_TEXT} characters")
    return value.strip()


def _rule(index: int, raw: Any) -> AlertRule:
    where = f"alert rule #{index + 1}"
    if not isinstance(raw, dict):
        raise RuleError(f"{where}: expected a mapping with name, query and key")
    name = raw.get("name")
    if isinstance(name, str) and name.strip():
        where += f" ({name.strip()[:64]!r})"
    unknown = set(raw) - _FIELDS
    if unknown:
        raise RuleError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    name = _text(raw, "name", where, required=True)
    if not _NAME.match(name):
        raise RuleError(f"{where}: name may hold letters, digits and _ . : - (at most 128)")
    query = _text(raw, "query", where, required=True)
    if not _QUERY.match(query):
        raise RuleError(f"{where}: query must be a catalogue query name")
    params = raw.get("params") or {}
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise RuleError(f"{where}: params must be a mapping of parameter names to values")
    key = raw.get("key")
    if isinstance(key, str):
        key = [key]
    if (
        not isinstance(key, list)
        or not key
        or len(key) > MAX_KEY_COLUMNS
        or not all(isinstance(c, str) and _COLUMN.match(c) for c in key)
        or len(set(key)) != len(key)
    ):
        raise RuleError(f"{where}: key must list 1 to {MAX_KEY_COLUMNS} distinct column names")
    if query in LOCAL_QUERIES:
        params = _local_params(query, params, where)
    condition_text, condition = _condition(raw, "condition", where)
    resolve_text, resolve_condition = _condition(raw, "resolve_condition", where)
    when = raw.get("when", "present")
    if when not in ("present", "absent"):
        raise RuleError(f"{where}: when must be present or absent")
    if when == "absent" and condition is not None:
        raise RuleError(f"{where}: a rule with when: absent takes no condition")
    if resolve_condition is not None and condition is None:
        raise RuleError(f"{where}: resolve_condition needs a condition to fire on")
    blast_labels = raw.get("blast_labels", False)
    if not isinstance(blast_labels, bool):
        raise RuleError(f"{where}: blast_labels must be true or false")
    severity = raw.get("severity", "warning")
    if not isinstance(severity, str) or severity.lower() not in SEVERITIES:
        raise RuleError(f"{where}: severity must be one of {', '.join(SEVERITIES)}")
    labels = raw.get("labels") or {}
    if not isinstance(labels, dict) or len(labels) > MAX_LABELS:
        raise RuleError(f"{where}: labels must be a mapping of at most {MAX_LABELS} entries")
    clean: dict[str, str] = {}
    for label, value in labels.items():
        if not isinstance(label, str) or not _LABEL.match(label) or label in RESERVED_LABELS:
            raise RuleError(
                f"{where}: label {label!r} must be a label name ([A-Za-z_][A-Za-z0-9_]*) and "
                f"not one of {', '.join(sorted(RESERVED_LABELS))}"
            )
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise RuleError(f"{where}: label {label} must have a string value")
        if len(str(value)) > MAX_TEXT:
            raise RuleError(f"{where}: label {label} is longer than {MAX_TEXT} characters")
        clean[label] = str(value)
    return AlertRule(
        name=name,
        query=query,
        key=tuple(key),
        params=params,
        condition_text=condition_text,
        condition=condition,
        when=when,
        for_s=parse_duration(raw.get("for", 0), f"{where}: for"),
        resolve_after_s=parse_duration(raw.get("resolve_after", 0), f"{where}: resolve_after"),
        severity=severity.lower(),
        labels=clean,
        summary=_check_template(_text(raw, "summary", where), f"{where}: summary"),
        description=_check_template(_text(raw, "description", where), f"{where}: description"),
        resolve_condition_text=resolve_text,
        resolve_condition=resolve_condition,
        blast_labels=blast_labels,
    )


def _condition(raw: Mapping[str, Any], name: str, where: str) -> tuple[str, Condition | None]:
    text = _text(raw, name, where)
    if not text:
        return "", None
    try:
        return text, parse_condition(text, decimals=True)
    except ConditionSyntaxError as exc:
        raise RuleError(
            f"{where}: {name} {text!r}: {exc.message} at position {exc.position + 1}"
        ) from None


def _local_params(query: str, params: dict[str, Any], where: str) -> dict[str, Any]:
    """The parameters of a question the service answers itself, checked and with defaults."""
    allowed = {
        "interface_window": {"window", "device"},
        "device_blast": {"depth"},
        "device_redundancy": {"depth", "role"},
        "device_visibility": set(),
    }[query]
    unknown = set(params) - allowed
    if unknown:
        raise RuleError(
            f"{where}: params: {query} takes {', '.join(sorted(allowed))}, not "
            f"{', '.join(sorted(unknown))}"
        )
    out: dict[str, Any] = {}
    if query == "interface_window":
        window = parse_duration(params.get("window", "5m"), f"{where}: params.window")
        if not 60 <= window <= MAX_WINDOW_S:
            raise RuleError(f"{where}: params.window must be between 1m and 24h")
        out["window_s"] = window
        device = params.get("device", "")
        if not isinstance(device, str) or len(device) > 255:
            raise RuleError(f"{where}: params.device must be a device name")
        if device:
            out["device"] = device
        return out
    if query == "device_visibility":
        return out
    depth = params.get("depth", 3)
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= MAX_DEPTH:
        raise RuleError(f"{where}: params.depth must be a whole number from 1 to {MAX_DEPTH}")
    out["depth"] = depth
    role = params.get("role", "")
    if not isinstance(role, str) or len(role) > 64:
        raise RuleError(f"{where}: params.role must be a role name")
    if role:
        out["role"] = role.strip().lower().replace("-", "_").replace(" ", "_")
    return out


def load_rules(text: str, *, origin: str = "alert rules") -> list[AlertRule]:
    """Rules from YAML text (a mapping with ``rules:``, or a list); :class:`RuleError` names
    the rule and what is wrong."""
    if len(text.encode("utf-8", "replace")) > MAX_RULES_BYTES:
        raise RuleError(f"{origin}: larger than {MAX_RULES_BYTES} bytes")
    try:
        raw = yaml.safe_load(text) if text.strip() else []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise RuleError(f"{origin}: not valid YAML{at}") from None
    if isinstance(raw, dict):
        unknown = set(raw) - {"rules"}
        if unknown:
            raise RuleError(f"{origin}: unknown top-level field(s) {', '.join(map(str, unknown))}")
        raw = raw.get("rules") or []
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise RuleError(f"{origin}: expected a list of rules (or a mapping with rules:)")
    if len(raw) > MAX_RULES:
        raise RuleError(f"{origin}: more than {MAX_RULES} rules")
    try:
        rules = [_rule(i, item) for i, item in enumerate(raw)]
    except RuleError as exc:
        raise RuleError(f"{origin}: {exc}") from None
    names = [r.name for r in rules]
    dupes = sorted({x for x in names if names.count(x) > 1})
    if dupes:
        raise RuleError(f"{origin}: duplicate rule name(s) {', '.join(dupes)}")
    return rules


def load_rules_file(path: Path) -> list[AlertRule]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise RuleError(f"{path}: {exc.strerror}") from None
    return load_rules(text, origin=str(path))
