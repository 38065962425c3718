"""The facts the graph is built from, kept per (device, fact kind) as the snapshots gave them.

A snapshot replaces, for each device in its scope and each kind declared for that device, the
fact set of that pair, and nothing else. Metadata patches (NetBox, users) are kept apart and
applied on top of device records, so a later snapshot never loses them. Both live in the graph
store (``FactSet`` and ``Patch`` nodes) and in memory.

In memory a fact is one row: a named tuple of its model's fields in their JSON form (lists
as tuples, strings interned), validated once when the snapshot arrived and never kept as a
model. A fact set is a tuple of rows in a canonical order (by the row's ``repr``), so the
same facts in another order are the same set. In the store a set is the JSON list of its
facts (``FactSet.payload``).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict, namedtuple
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from network_discovery.model import (
    VLAN,
    ArpEntry,
    BGPPeer,
    Device,
    Endpoint,
    FactKind,
    FirewallObject,
    FirewallRule,
    FirewallRuleset,
    FirewallZone,
    Interface,
    IPAddress,
    Link,
    MacTableEntry,
    MetadataPatch,
    NeighborObservation,
    Route,
    Snapshot,
)
from pydantic import BaseModel, TypeAdapter

from meshq_graph_engine._gc import collector_paused

__all__ = [
    "FIREWALL_PARTS",
    "KIND_MODELS",
    "FactKey",
    "FactRow",
    "FactStore",
    "facts_by_scope",
    "row_dict",
    "set_digest",
    "set_json",
]

FactKey = tuple[str, str]  # (device id, fact kind, or fact kind part)
#: One fact: a named tuple of its model's fields (see :data:`KIND_MODELS`).
FactRow = Any

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

#: The model of every fact kind (and firewall part).
KIND_MODELS: dict[str, type[BaseModel]] = {
    FactKind.DEVICE.value: Device,
    FactKind.INTERFACES.value: Interface,
    FactKind.IP_ADDRESSES.value: IPAddress,
    FactKind.VLANS.value: VLAN,
    FactKind.ARP.value: ArpEntry,
    FactKind.MAC_TABLE.value: MacTableEntry,
    FactKind.BGP.value: BGPPeer,
    FactKind.ENDPOINTS.value: Endpoint,
    FactKind.ROUTES.value: Route,
    FactKind.LINKS.value: Link,
    FactKind.LLDP.value: NeighborObservation,
    FactKind.CDP.value: NeighborObservation,
    "firewall:zones": FirewallZone,
    "firewall:rulesets": FirewallRuleset,
    "firewall:rules": FirewallRule,
    "firewall:objects": FirewallObject,
}

_ROW_TYPES: dict[str, Any] = {
    kind: namedtuple(f"{model.__name__}Fact", list(model.model_fields))
    for kind, model in KIND_MODELS.items()
}
_FIELDS: dict[str, tuple[str, ...]] = {kind: t._fields for kind, t in _ROW_TYPES.items()}
_FIELD_SETS: dict[str, frozenset[str]] = {kind: frozenset(f) for kind, f in _FIELDS.items()}


_intern = sys.intern


def _freeze(value: Any) -> Any:
    """A JSON value as kept in memory: strings interned, lists as tuples."""
    kind = type(value)
    if kind is str:
        return _intern(value)
    if kind is list or kind is tuple:
        return tuple([_freeze(v) for v in value])
    if kind is dict:
        return {k: _freeze(v) for k, v in value.items()}
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    if isinstance(value, dict):
        return {k: _thaw(v) for k, v in value.items()}
    return value


def _encode(kind: str, fact: dict[str, Any]) -> FactRow:
    """One fact (its model's JSON form) as a row; a fact written by a version of the model
    with other fields is validated again, so it gains the fields' defaults."""
    fields = _FIELDS[kind]
    if fact.keys() != _FIELD_SETS[kind]:
        fact = KIND_MODELS[kind].model_validate(fact).model_dump(mode="json")
    return _ROW_TYPES[kind]._make(
        [
            _intern(v) if (t := type(v)) is str else (_freeze(v) if t is list or t is dict else v)
            for v in map(fact.__getitem__, fields)
        ]
    )


def _order(row: FactRow) -> str:
    """A row's place in its set: its values' text (the same for the same fact)."""
    return repr(tuple(row))


def row_dict(row: FactRow) -> dict[str, Any]:
    """A row as its fact's JSON form (what the snapshot gave)."""
    return {k: _thaw(v) for k, v in zip(row._fields, row, strict=True)}


def set_json(rows: Sequence[FactRow]) -> str:
    """A fact set as the JSON list of its facts (what ``FactSet.payload`` holds)."""
    return json.dumps([dict(zip(r._fields, r, strict=True)) for r in rows], separators=(",", ":"))


def set_digest(digest: Any, rows: Sequence[FactRow]) -> None:
    """Feed a fact set's content to a hash (its rows' values as text, in set order)."""
    for row in rows:
        digest.update(repr(tuple(row)).encode())
        digest.update(b"\n")


#: Facts dumped to their JSON form per call (bounds the dictionaries alive at once).
_DUMP_BATCH = 2048
_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    kind: TypeAdapter(tuple[model, ...])  # type: ignore[valid-type]
    for kind, model in KIND_MODELS.items()
    if kind != FactKind.CDP.value
}


def _dump(kind: str, facts: Sequence[BaseModel]) -> list[dict[str, Any]]:
    """Facts of one model as their JSON form, dumped in one call."""
    adapter = _ADAPTERS[FactKind.LLDP.value if kind == FactKind.CDP.value else kind]
    return list(adapter.dump_python(tuple(facts), mode="json"))


def facts_by_scope(snapshot: Snapshot) -> dict[FactKey, tuple[FactRow, ...]]:
    """The snapshot's facts grouped by (device, kind), every declared pair present (maybe
    empty), each set in its canonical order."""
    with collector_paused():
        return _by_scope(snapshot)


def _by_scope(snapshot: Snapshot) -> dict[FactKey, tuple[FactRow, ...]]:
    scope = snapshot.scope_map()
    grouped: dict[FactKey, list[FactRow]] = {
        (device, part): []
        for device, kinds in scope.items()
        for kind in kinds
        for part in (FIREWALL_PARTS if kind is FactKind.FIREWALL else (kind.value,))
    }

    def add(part: str, owners: list[FactKey | None], facts: Sequence[BaseModel]) -> None:
        kept = [(key, fact) for key, fact in zip(owners, facts, strict=True) if key in grouped]
        for start in range(0, len(kept), _DUMP_BATCH):
            batch = kept[start : start + _DUMP_BATCH]
            for (key, _), data in zip(batch, _dump(part, [f for _, f in batch]), strict=True):
                grouped[key].append(_encode(part, data))

    lists = [(kind.value, attr) for kind, attr in _LISTS.items()] + list(FIREWALL_PARTS.items())
    for part, attr in lists:
        facts = getattr(snapshot, attr)
        if part == FactKind.DEVICE.value:
            owners: list[FactKey | None] = [(f.id, part) for f in facts]
        else:
            owners = [(f.device, part) for f in facts]
        add(part, owners, facts)
    for protocol in (FactKind.LLDP.value, FactKind.CDP.value):
        facts = [o for o in snapshot.neighbors if str(o.protocol) == protocol]
        add(protocol, [(o.device, protocol) for o in facts], facts)
    links = FactKind.LINKS.value
    owners = []
    for link in snapshot.links:
        owner = next((d for d in link.devices if (d, links) in grouped), None)
        owners.append(None if owner is None else (owner, links))
    add(links, owners, snapshot.links)
    return {key: tuple(sorted(rows, key=_order)) for key, rows in grouped.items()}


class FactStore:
    """In-memory view of every fact set and patch; the graph store keeps the durable copy."""

    def __init__(self) -> None:
        self.sets: dict[FactKey, tuple[FactRow, ...]] = {}
        self.origin: dict[FactKey, str] = {}  # snapshot that last wrote the set
        self.seen: dict[FactKey, str] = {}  # when that snapshot collected it (ISO 8601)
        self.patches: dict[str, dict[str, Any]] = {}  # device id -> merged changes

    def load(self, rows: Iterable[dict[str, Any]], patches: Iterable[dict[str, Any]]) -> None:
        with collector_paused():
            self._load(rows, patches)

    def _load(self, rows: Iterable[dict[str, Any]], patches: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            key = (row["device"], row["kind"])
            facts = [_encode(key[1], f) for f in json.loads(row["payload"])]
            self.sets[key] = tuple(facts)
            self.origin[key] = row["snapshot_id"]
            self.seen[key] = row["collected_at"]
        for row in patches:
            self.patches[row["device"]] = json.loads(row["payload"])

    def replace(
        self, snapshot_id: str, collected_at: str, grouped: Mapping[FactKey, tuple[FactRow, ...]]
    ) -> tuple[list[FactKey], list[FactKey]]:
        """Replace the declared sets; return (changed keys, removed keys)."""
        changed: list[FactKey] = []
        removed: list[FactKey] = []
        for key, facts in grouped.items():
            if facts:
                if self.sets.get(key) != facts:
                    changed.append(key)
                self.sets[key] = facts
                self.origin[key] = snapshot_id
                self.seen[key] = collected_at
            elif key in self.sets:
                removed.append(key)
                del self.sets[key]
                self.origin.pop(key, None)
                self.seen.pop(key, None)
        return changed, removed

    def apply_patch(self, patch: MetadataPatch) -> dict[str, Any]:
        merged = dict(self.patches.get(patch.device_id, {}))
        merged.update(json.loads(json.dumps(patch.changes(), default=str)))
        self.patches[patch.device_id] = merged
        return merged

    def keys_of_kind(self, kind: FactKind | str) -> list[FactKey]:
        """The keys holding facts of one kind (or firewall part), in key order."""
        return sorted(key for key in self.sets if key[1] == str(kind))

    def rows_of_kind(self, kind: FactKind | str) -> Iterator[FactRow]:
        for key in self.keys_of_kind(kind):
            yield from self.sets[key]

    def of_kind(self, kind: FactKind | str) -> list[dict[str, Any]]:
        """The facts of one kind as their JSON form, in key order."""
        return [row_dict(r) for r in self.rows_of_kind(kind)]

    def models_of_kind(self, kind: FactKind | str, cls: Any) -> list[Any]:
        """The facts of one kind (or firewall part) as validated models (made on demand,
        never kept)."""
        return [cls.model_validate(row_dict(r)) for r in self.rows_of_kind(kind)]

    def managed_devices(self) -> set[str]:
        return {device for device, kind in self.sets if kind == FactKind.DEVICE.value}

    def managed_count(self) -> int:
        """Devices whose record says they were collected (what the plan's limit counts)."""
        count = 0
        for (_, kind), rows in self.sets.items():
            if kind == FactKind.DEVICE.value and rows[-1].managed:
                count += 1
        return count

    def devices_by_kind(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for device, kind in self.sets:
            out[kind].add(device)
        return out
