"""The facts the graph is built from, kept per (device, fact kind) as the snapshots gave them.

A snapshot replaces, for each device in its scope and each kind declared for that device, the
fact set of that pair, and nothing else. Metadata patches (NetBox, users) are kept apart and
applied on top of device records, so a later snapshot never loses them. Both live in the graph
store (``FactSet`` and ``Patch`` nodes) and in memory.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from network_discovery.model import FactKind, MetadataPatch, Snapshot

__all__ = ["FIREWALL_PARTS", "FactKey", "FactStore", "facts_by_scope"]

FactKey = tuple[str, str]  # (device id, fact kind, or fact kind part)

#: The firewall kind is kept as one fact set per snapshot list, each under its own part key
#: (``firewall:rules``...), so every set holds facts of one model.
FIREWALL_PARTS: dict[str, str] = {
    "firewall:zones": "firewall_zones",
    "firewall:rulesets": "firewall_rulesets",
    "firewall:rules": "firewall_rules",
    "firewall:objects": "firewall_objects",
}

_LISTS: dict[FactKind, str] = {
    FactKind.DEVICE: "devices",
    FactKind.INTERFACES: "interfaces",
    FactKind.IP_ADDRESSES: "ip_addresses",
    FactKind.VLANS: "vlans",
    FactKind.ARP: "arp",
    FactKind.MAC_TABLE: "mac_table",
    FactKind.BGP: "bgp_peers",
    FactKind.ENDPOINTS: "endpoints",
    FactKind.ROUTES: "routes",
}


def facts_by_scope(snapshot: Snapshot) -> dict[FactKey, list[dict[str, Any]]]:
    """The snapshot's facts grouped by (device, kind), every declared pair present (maybe [])."""
    scope = snapshot.scope_map()
    grouped: dict[FactKey, list[dict[str, Any]]] = {
        (device, part): []
        for device, kinds in scope.items()
        for kind in kinds
        for part in (FIREWALL_PARTS if kind is FactKind.FIREWALL else (kind.value,))
    }
    lists = [(kind.value, attr) for kind, attr in _LISTS.items()] + list(FIREWALL_PARTS.items())
    for part, attr in lists:
        for fact in getattr(snapshot, attr):
            owner = fact.id if part == FactKind.DEVICE.value else fact.device
            if (owner, part) in grouped:
                grouped[(owner, part)].append(fact.model_dump(mode="json"))
    for obs in snapshot.neighbors:
        key = (obs.device, obs.protocol.value if hasattr(obs.protocol, "value") else obs.protocol)
        if key in grouped:
            grouped[key].append(obs.model_dump(mode="json"))
    for link in snapshot.links:
        owner = next((d for d in link.devices if (d, FactKind.LINKS.value) in grouped), None)
        if owner is not None:
            grouped[(owner, FactKind.LINKS.value)].append(link.model_dump(mode="json"))
    for facts in grouped.values():
        facts.sort(key=lambda f: json.dumps(f, sort_keys=True))
    return grouped


class FactStore:
    """In-memory view of every fact set and patch; the graph store keeps the durable copy."""

    def __init__(self) -> None:
        self.sets: dict[FactKey, list[dict[str, Any]]] = {}
        self.origin: dict[FactKey, str] = {}  # snapshot that last wrote the set
        self.seen: dict[FactKey, str] = {}  # when that snapshot collected it (ISO 8601)
        self.patches: dict[str, dict[str, Any]] = {}  # device id -> merged changes
        #: validated models per fact set, dropped whenever the set changes
        self.parsed: dict[FactKey, list[Any]] = {}

    def load(self, rows: Iterable[dict[str, Any]], patches: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            key = (row["device"], row["kind"])
            self.sets[key] = json.loads(row["payload"])
            self.origin[key] = row["snapshot_id"]
            self.seen[key] = row["collected_at"]
        for row in patches:
            self.patches[row["device"]] = json.loads(row["payload"])

    def replace(
        self, snapshot_id: str, collected_at: str, grouped: dict[FactKey, list[dict[str, Any]]]
    ) -> tuple[list[FactKey], list[FactKey]]:
        """Replace the declared sets; return (changed keys, removed keys)."""
        changed: list[FactKey] = []
        removed: list[FactKey] = []
        for key, facts in grouped.items():
            if facts:
                if self.sets.get(key) != facts:
                    changed.append(key)
                    self.parsed.pop(key, None)
                self.sets[key] = facts
                self.origin[key] = snapshot_id
                self.seen[key] = collected_at
            elif key in self.sets:
                removed.append(key)
                del self.sets[key]
                self.origin.pop(key, None)
                self.seen.pop(key, None)
                self.parsed.pop(key, None)
        return changed, removed

    def apply_patch(self, patch: MetadataPatch) -> dict[str, Any]:
        merged = dict(self.patches.get(patch.device_id, {}))
        merged.update(json.loads(json.dumps(patch.changes(), default=str)))
        self.patches[patch.device_id] = merged
        return merged

    def of_kind(self, kind: FactKind | str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for (_, k), facts in self.sets.items():
            if k == str(kind):
                out.extend(facts)
        return out

    def models_of_kind(self, kind: FactKind | str, cls: Any) -> list[Any]:
        """The facts of one kind (or firewall part) as validated models, cached per set."""
        out: list[Any] = []
        for key, facts in self.sets.items():
            if key[1] != str(kind):
                continue
            models = self.parsed.get(key)
            if models is None:
                models = self.parsed[key] = [cls.model_validate(f) for f in facts]
            out.extend(models)
        return out

    def managed_devices(self) -> set[str]:
        return {device for device, kind in self.sets if kind == FactKind.DEVICE.value}

    def devices_by_kind(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for device, kind in self.sets:
            out[kind].add(device)
        return out
