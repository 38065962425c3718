"""How ``meshq query`` prints an answer.

``--format json`` and ``--format csv`` print the rows as they are (:func:`render_rows`). The
table format reads the answer's shape and prints what a person looks for:

- a path (``path_analysis``: one row per branch with its hops) or a traceroute (one row per hop)
  as hop tables like ``traceroute``: hop, device, in and out interface, route, next hop, and the
  filter decision with its rule; each deciding rule's text once, below;
- a blast radius as grouped lists: affected, degraded, and the upstream paths lost;
- anything else as a table whose nested values are written compactly on one line.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["render_answer", "render_rows"]

#: Longest cell of the generic table; longer values are cut (``--format json`` has them whole).
MAX_CELL = 80
_CUT_NOTE = f"(values longer than {MAX_CELL} characters are cut: --format json shows them whole)"

#: A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA = ("=", "+", "-", "@", "\t", "\r")

Row = Mapping[str, Any]


# -- json / csv / plain table: as they always were --------------------------------------------


def render_rows(rows: list[dict[str, Any]], fmt: str) -> str:
    """The rows as JSON, CSV, or a plain table (nested values as JSON)."""
    if fmt == "json":
        return json.dumps(rows, indent=2, sort_keys=False)
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_cell(v) for k, v in row.items()})
        return out.getvalue().rstrip("\n")
    if not rows:
        return "(no rows)"
    return "\n".join(_table(columns, [[_cell(row.get(c)) for c in columns] for row in rows]))


def _csv_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: what it would run as a formula is quoted with a
    leading apostrophe (numbers are left alone)."""
    text = _cell(value)
    if isinstance(value, str) and text.startswith(_FORMULA):
        return "'" + text
    return text


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def _table(headers: Sequence[str], cells: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return [(indent + line).rstrip() for line in lines]


# -- the table format, by the answer's shape ---------------------------------------------------


def render_answer(
    rows: list[dict[str, Any]],
    fmt: str,
    *,
    params: Mapping[str, Any] | None = None,
) -> str:
    """``rows`` in ``fmt``; for ``table``, the view that fits their shape."""
    if fmt != "table" or not rows:
        return render_rows(rows, fmt)
    for fits, view in _VIEWS:
        if all(fits(row) for row in rows):
            return view(rows, params or {})
    return _compact_table(rows)


def _is_path(row: Row) -> bool:
    return isinstance(row.get("hops"), list) and "verdict" in row and "branch" in row


def _is_hop(row: Row) -> bool:
    return {"path", "hop", "device", "action", "verdict"} <= row.keys()


def _is_blast(row: Row) -> bool:
    return {"device", "status", "paths_before", "paths_after", "failed"} <= row.keys()


def _is_fabric_blast(row: Row) -> bool:
    return {"entity", "id", "status", "detail", "failed"} <= row.keys()


# -- paths -------------------------------------------------------------------------------------

_HOP_HEADERS = ("hop", "device", "vrf", "in", "out", "route", "next hop", "filter decision")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _flow_line(params: Mapping[str, Any]) -> str | None:
    source, destination = params.get("source"), params.get("destination")
    if not source or not destination:
        return None
    protocol = params.get("protocol") or ""
    port = params.get("port")
    target = f"{destination} port {port}" if port not in (None, "") else str(destination)
    return f"Flow {protocol} {source} -> {target}".replace("  ", " ")


def _owner(label: str, owner: Any, address: Any) -> str:
    if not isinstance(owner, Mapping):
        return f"{label}: unknown"
    kind = owner.get("kind") or "unknown"
    where = " ".join(_text(owner.get(k)) for k in ("device", "interface") if owner.get(k))
    text = f"{label}{' ' + str(address) if address else ''}: {kind}"
    workload = owner.get("workload")
    if isinstance(workload, Mapping):  # a pod, placed at its node
        pod = f"{_text(workload.get('namespace'))}/{_text(workload.get('pod'))}"
        text += f" {pod} on node {_text(workload.get('node'))}"
    if where:
        text += f" on {where}"
    gateways = owner.get("gateways") or []
    if gateways:
        text += f" (gateways {', '.join(map(str, gateways))})"
    return text


def _route(route: Any) -> str:
    if isinstance(route, Mapping):
        how = ", ".join(_text(route.get(k)) for k in ("protocol", "origin") if route.get(k))
        return f"{_text(route.get('prefix'))} ({how})" if how else _text(route.get("prefix"))
    return _text(route)


def _interface(name: Any, zone: Any) -> str:
    text = _text(name) or "-"
    return f"{text} [{zone}]" if zone else text


def _next_hop(hop: Row) -> str:
    text = _text(hop.get("next_hop"))
    resolved = hop.get("resolved_next_hop")
    return f"{text} via {resolved}" if resolved else text


class _Rules:
    """The deciding rules seen in an answer, each printed once (with its text) at the end."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def note(self, label: str, text: Any) -> None:
        if label not in self.seen:
            self.seen[label] = _text(text)

    def lines(self) -> list[str]:
        if not self.seen:
            return []
        out = ["", "Deciding rules"]
        for label, text in self.seen.items():
            out.append(f"  {label}")
            out += [f"      {line}" for line in text.splitlines() if line.strip()]
        return out


def _decision(decision: Row, rules: _Rules) -> str:
    rule_set = _text(decision.get("rule_set"))
    name = _text(decision.get("name"))
    position = decision.get("position")
    where = f"{rule_set} #{position}" if position is not None else rule_set
    if name and name != "(default)":
        where += f" {name}"
    elif name == "(default)":
        where += " (default)"
    label = f"{_text(decision.get('device'))} {where}".strip()
    if decision.get("text"):
        rules.note(label, decision.get("text"))
    action = decision.get("action")
    verdict = _text(decision.get("verdict")) or _text(action)
    return f"{verdict}: {where}" + (f" ({action})" if action and action != verdict else "")


def _path_view(rows: list[dict[str, Any]], params: Mapping[str, Any]) -> str:
    rules = _Rules()
    verdicts = sorted({_text(r.get("verdict")) for r in rows})
    lines = [line for line in [_flow_line(params)] if line]
    lines.append(f"Verdict: {', '.join(verdicts)} ({len(rows)} path{'s' * (len(rows) != 1)})")
    first = rows[0]
    lines.append(_owner("Source", first.get("source_owner"), params.get("source")))
    lines.append(_owner("Destination", first.get("destination_owner"), params.get("destination")))
    for row in rows:
        branch_verdict = _text(row.get("branch_verdict") or row.get("verdict"))
        lines += ["", f"Path {row.get('branch')}: {branch_verdict}: {_text(row.get('reason'))}"]
        cells, notes = [], []
        for place, hop in enumerate(row.get("hops") or [], start=1):
            decisions = [d for d in hop.get("decisions") or [] if isinstance(d, Mapping)]
            cells.append(
                [
                    str(place),
                    _text(hop.get("device")),
                    _text(hop.get("vrf")),
                    _interface(hop.get("ingress_interface"), hop.get("ingress_zone")),
                    _interface(hop.get("egress_interface"), hop.get("egress_zone")),
                    _route(hop.get("route")) or _text(hop.get("method")),
                    _next_hop(hop),
                    "; ".join(_decision(d, rules) for d in decisions) or "-",
                ]
            )
            for nat in hop.get("translations") or []:
                notes.append(f"  NAT at hop {place}: {_compact(nat)}")
        if cells:
            lines += _table(_HOP_HEADERS, cells, indent="  ")
        else:
            lines.append("  (no hop)")
        lines += notes
        if row.get("truncated"):
            lines.append("  (the walk stopped at max_hops: the path is cut)")
    return "\n".join(lines + rules.lines())


#: 'RULE_SET line N (text): action' or 'RULE_SET default: action' (traceroute's ``filters``).
_FILTER = re.compile(
    r"^(?P<where>.+?) line (?P<line>\d+) \((?P<text>.*)\): (?P<action>[^:()]+)$", re.S
)


def _filter(device: str, entry: Any, rules: _Rules) -> str:
    text = _text(entry)
    match = _FILTER.match(text)
    if match is None:
        return " ".join(text.split())
    where = f"{match['where']} line {match['line']}"
    rules.note(f"{device} {where}", match["text"])
    return f"{match['action']}: {where}"


_TRACE_HEADERS = (*_HOP_HEADERS[:-1], "action", "filter decision")


def _hop_view(rows: list[dict[str, Any]], params: Mapping[str, Any]) -> str:
    rules = _Rules()
    paths: dict[Any, list[Row]] = {}
    for row in rows:
        paths.setdefault(row.get("path"), []).append(row)
    verdicts = sorted({_text(r.get("verdict")) for r in rows})
    lines = [line for line in [_flow_line(params)] if line]
    lines.append(f"Verdict: {', '.join(verdicts)} ({len(paths)} path{'s' * (len(paths) != 1)})")
    for path, hops in paths.items():
        hops = sorted(hops, key=lambda h: int(h.get("hop") or 0))
        last = hops[-1]
        end = _text(last.get("action"))
        reason = _text(last.get("reason"))
        lines += ["", f"Path {path}: {end}{': ' + reason if reason else ''}"]
        cells, notes = [], []
        for hop in hops:
            device = _text(hop.get("device"))
            cells.append(
                [
                    _text(hop.get("hop")),
                    device,
                    _text(hop.get("vrf")),
                    _text(hop.get("ingress_interface")) or "-",
                    _text(hop.get("egress_interface")) or "-",
                    _text(hop.get("route")),
                    _next_hop(hop),
                    _text(hop.get("action")),
                    "; ".join(_filter(device, f, rules) for f in hop.get("filters") or []) or "-",
                ]
            )
            for nat in hop.get("translations") or []:
                notes.append(f"  NAT at hop {hop.get('hop')}: {_compact(nat)}")
        lines += _table(_TRACE_HEADERS, cells, indent="  ")
        lines += notes
    return "\n".join(lines + rules.lines())


# -- blast radius ------------------------------------------------------------------------------


def _same(rows: Sequence[Row], key: str) -> Any:
    """The value every row has for ``key`` (an answer-wide figure), else None."""
    values = [r.get(key) for r in rows]
    return values[0] if values and all(v == values[0] for v in values) else None


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def _blast_view(rows: list[dict[str, Any]], params: Mapping[str, Any]) -> str:
    failed = [r for r in rows if r.get("failed")]
    what = ", ".join(_text(r.get("device")) for r in failed) or ", ".join(
        f"{k}={v}" for k, v in params.items() if k != "depth"
    )
    depth = params.get("depth")
    head = f"Blast radius of {what or 'the element'}" + (f" (depth {depth})" if depth else "")
    facts = []
    for key, label in (("severity", "severity"), ("impact_score", "impact score")):
        value = _same(rows, key)
        if value is not None:
            facts.append(f"{label} {value}")
    pct = _same(rows, "blast_radius_pct")
    if pct is not None:
        facts.append(f"{pct}% of the network")
    lines = [head + (f": {', '.join(facts)}" if facts else "")]

    def group(status: str, title: str) -> None:
        members = sorted(
            (r for r in rows if r.get("status") == status),
            key=lambda r: (int(r.get("hops") or 0), _text(r.get("device"))),
        )
        endpoints = sum(int(r.get("endpoints") or 0) for r in members)
        lines.extend(
            ["", f"{title}: {_plural(len(members), 'device')}, {_plural(endpoints, 'endpoint')}"]
        )
        if not members:
            return
        cells = [
            [
                _text(r.get("device")),
                "failed" if r.get("failed") else _text(r.get("hops")),
                _text(r.get("role")) or "-",
                _text(r.get("criticality")) or "-",
                _text(r.get("endpoints")),
                "-" if r.get("failed") else f"{r.get('paths_before')} -> {r.get('paths_after')}",
                "" if r.get("managed", True) else "not managed",
            ]
            for r in members
        ]
        headers = ("device", "hops", "role", "criticality", "endpoints", "upstream paths", "")
        lines.extend(_table(headers, cells, indent="  "))

    group("affected", "Affected (cut off from upstream)")
    group("degraded", "Degraded (still reachable, fewer upstream paths)")
    lost = [
        r
        for r in rows
        if not r.get("failed") and int(r.get("paths_after") or 0) < int(r.get("paths_before") or 0)
    ]
    before = sum(int(r.get("paths_before") or 0) for r in lost)
    after = sum(int(r.get("paths_after") or 0) for r in lost)
    lines += ["", f"Lost paths: {before - after} of {before} upstream paths of these devices"]
    for r in sorted(lost, key=lambda r: _text(r.get("device"))):
        gone = int(r.get("paths_before") or 0) - int(r.get("paths_after") or 0)
        cut = " (cut off)" if int(r.get("paths_after") or 0) == 0 else ""
        lines.append(
            f"  {_text(r.get('device'))}: {r.get('paths_before')} -> {r.get('paths_after')}"
            f" (lost {gone}){cut}"
        )
    return "\n".join(lines)


def _fabric_blast_view(rows: list[dict[str, Any]], params: Mapping[str, Any]) -> str:
    failed = sorted({_text(r.get("failed")) for r in rows})
    lines = [f"Blast radius of {', '.join(failed) or params.get('element') or 'the element'}"]
    for status, title in (
        ("affected", "Affected (cut off)"),
        ("degraded", "Degraded (fewer paths)"),
    ):
        members = [r for r in rows if r.get("status") == status]
        lines += ["", f"{title}: {len(members)}"]
        by_entity: dict[str, list[Row]] = {}
        for row in members:
            by_entity.setdefault(_text(row.get("entity")), []).append(row)
        for entity, group in sorted(by_entity.items()):
            lines.append(f"  {entity} ({len(group)})")
            for item in sorted(group, key=lambda r: _text(r.get("id"))):
                host = f" on {item['host']}" if item.get("host") else ""
                lines.append(f"    {_text(item.get('id'))}{host}: {_text(item.get('detail'))}")
    return "\n".join(lines)


# -- everything else ---------------------------------------------------------------------------


def _compact(value: Any) -> str:
    """A nested value on one line: lists joined with commas, objects as ``k=v``."""
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_compact(v)}" for k, v in value.items() if v not in (None, "", []))
    if isinstance(value, (list, tuple)):
        parts = [_compact(v) for v in value]
        if any(isinstance(v, Mapping) for v in value):
            return "; ".join(f"[{p}]" for p in parts)
        return ", ".join(parts)
    return " ".join(str(value).split()) if isinstance(value, str) else str(value)


def _compact_table(rows: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    cut = False

    def cell(value: Any) -> str:
        nonlocal cut
        text = _compact(value)
        if len(text) > MAX_CELL:
            cut = True
            return text[: MAX_CELL - 3] + "..."
        return text

    lines = _table(columns, [[cell(row.get(c)) for c in columns] for row in rows])
    return "\n".join([*lines, _CUT_NOTE] if cut else lines)


_VIEWS: list[
    tuple[Callable[[Row], bool], Callable[[list[dict[str, Any]], Mapping[str, Any]], str]]
] = [
    (_is_path, _path_view),
    (_is_hop, _hop_view),
    (_is_blast, _blast_view),
    (_is_fabric_blast, _fabric_blast_view),
]
