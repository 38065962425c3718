"""Which NetBox device is which graph device: by name, then serial, then primary IP.

A graph device that two NetBox devices could be (by the first rule that finds any) is
ambiguous: reported, never guessed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from network_discovery.model import short_hostname

__all__ = ["Matches", "match_devices"]


@dataclass
class Matches:
    #: graph device id -> NetBox device
    found: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: graph device id -> how it matched (name, serial, primary_ip)
    how: dict[str, str] = field(default_factory=dict)
    #: graph device id -> why it could not be matched to one device
    ambiguous: dict[str, str] = field(default_factory=dict)

    def netbox_ids(self) -> set[int]:
        return {int(d["id"]) for d in self.found.values()}


def _ip(value: str | None) -> str | None:
    return value.split("/", 1)[0] if value else None


def match_devices(graph: Iterable[Mapping[str, Any]], netbox: Iterable[dict[str, Any]]) -> Matches:
    """``graph`` rows carry device, hostname, serial, management_ip (netbox_inventory)."""
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_short: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_serial: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_ip: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for nb in netbox:
        if nb.get("name"):
            by_name[nb["name"].strip().rstrip(".").lower()].append(nb)
            by_short[short_hostname(nb["name"].lower())].append(nb)
        if nb.get("serial"):
            by_serial[nb["serial"].strip().upper()].append(nb)
        primary = _ip((nb.get("primary_ip") or {}).get("address"))
        if primary:
            by_ip[primary].append(nb)
    out = Matches()
    taken: dict[int, str] = {}
    for row in graph:
        device = row["device"]
        names = {device, (row.get("hostname") or device).lower()}
        rules = (
            ("name", [nb for n in sorted(names) for nb in by_name.get(n, [])]),
            ("name", [nb for n in sorted(names) for nb in by_short.get(short_hostname(n), [])]),
            (
                "serial",
                by_serial.get((row.get("serial") or "").strip().upper(), [])
                if row.get("serial")
                else [],
            ),
            ("primary_ip", by_ip.get(_ip(row.get("management_ip")) or "", [])),
        )
        for how, candidates in rules:
            unique = {int(c["id"]): c for c in candidates}
            if not unique:
                continue
            if len(unique) > 1:
                names_found = ", ".join(sorted(str(c.get("name")) for c in unique.values()))
                out.ambiguous[device] = (
                    f"{len(unique)} NetBox devices match by {how}: {names_found}"
                )
                break
            nb = next(iter(unique.values()))
            if nb["id"] in taken:
                out.ambiguous[device] = (
                    f"NetBox device {nb.get('name')!r} (by {how}) is already matched to "
                    f"{taken[nb['id']]!r}"
                )
                break
            taken[nb["id"]] = device
            out.found[device], out.how[device] = nb, how
            break
    return out
