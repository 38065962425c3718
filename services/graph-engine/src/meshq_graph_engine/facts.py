"""The facts the graph is built from, kept per (device, fact kind) as the snapshots gave them.

A snapshot replaces, for each device in its scope and each kind declared for that device, the
fact set of that pair, and nothing else. Metadata patches (NetBox, users) are kept apart and
applied on top of device records, so a later snapshot never loses them. Both live in the graph
store (``FactSet`` and ``Patch`` nodes) and in memory.

In memory a fact is one row: a named tuple of its model's fields in their JSON form (lists
as tuples, strings interned), validated once when the snapshot arrived and never kept as a
model. A fact set is a tuple of rows in a canonical order (by the row's ``repr``), so the
same facts in another order are the same set. In the store a set is the JSON list of its
facts, compressed (``FactSet.payload``: :func:`set_payload`, read by :func:`payload_facts`).
"""

from __future__ import annotations

import base64
import json
import re
import sys
import zlib
from array import array
from collections import defaultdict, namedtuple
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self, cast, get_args

from network_discovery.model import (
    FACT_LISTS,
    VLAN,
    ArpEntry,
    BGPPeer,
    Device,
    DeviceConfig,
    Endpoint,
    FactKind,
    FirewallObject,
    FirewallRule,
    FirewallRuleset,
    FirewallZone,
    GpuAffinityFact,
    GpuFact,
    GpuHealthFact,
    IBAdapterFact,
    IBCountersFact,
    IBLinkFact,
    IBNodeFact,
    IBPortFact,
    Interface,
    IPAddress,
    Link,
    MacTableEntry,
    MetadataPatch,
    NcclConnectionFact,
    NcclJobFact,
    NcclRankFact,
    NcclResultFact,
    NeighborObservation,
    Route,
    Snapshot,
)
from pydantic import BaseModel, TypeAdapter

from meshq_graph_engine._gc import collector_paused
from meshq_graph_engine._memory import release_free_memory

__all__ = [
    "FIREWALL_PARTS",
    "KIND_MODELS",
    "FactKey",
    "FactRow",
    "FactSets",
    "FactStore",
    "SnapshotFacts",
    "facts_by_scope",
    "pack",
    "payload_facts",
    "read_snapshot",
    "row_dict",
    "set_bytes",
    "set_json",
    "set_payload",
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
    FactKind.IB_NODES: "ib_nodes",
    FactKind.IB_PORTS: "ib_ports",
    FactKind.IB_LINKS: "ib_links",
    FactKind.IB_COUNTERS: "ib_counters",
    FactKind.IB_ADAPTERS: "ib_adapters",
    FactKind.GPUS: "gpus",
    FactKind.GPU_HEALTH: "gpu_health",
    FactKind.GPU_AFFINITY: "gpu_affinity",
    FactKind.NCCL_JOBS: "nccl_jobs",
    FactKind.NCCL_RANKS: "nccl_ranks",
    FactKind.NCCL_CONNECTIONS: "nccl_connections",
    FactKind.NCCL_RESULTS: "nccl_results",
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
    FactKind.IB_NODES.value: IBNodeFact,
    FactKind.IB_PORTS.value: IBPortFact,
    FactKind.IB_LINKS.value: IBLinkFact,
    FactKind.IB_COUNTERS.value: IBCountersFact,
    FactKind.IB_ADAPTERS.value: IBAdapterFact,
    FactKind.GPUS.value: GpuFact,
    FactKind.GPU_HEALTH.value: GpuHealthFact,
    FactKind.GPU_AFFINITY.value: GpuAffinityFact,
    FactKind.NCCL_JOBS.value: NcclJobFact,
    FactKind.NCCL_RANKS.value: NcclRankFact,
    FactKind.NCCL_CONNECTIONS.value: NcclConnectionFact,
    FactKind.NCCL_RESULTS.value: NcclResultFact,
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
    return _ROW_TYPES[kind]._make(_held_values(map(fact.__getitem__, fields)))


def _held_values(values: Iterable[Any]) -> list[Any]:
    """A fact's values in its fields' order as a row keeps them: strings interned, lists as
    tuples (:func:`_freeze`)."""
    return [
        _intern(v) if (t := type(v)) is str else (_freeze(v) if t is list or t is dict else v)
        for v in values
    ]


def _order(row: FactRow) -> str:
    """A row's place in its set: its values' text (the same for the same fact)."""
    return repr(tuple(row))


def row_dict(row: FactRow) -> dict[str, Any]:
    """A row as its fact's JSON form (what the snapshot gave)."""
    return {k: _thaw(v) for k, v in zip(row._fields, row, strict=True)}


def set_json(rows: Sequence[FactRow]) -> str:
    """A fact set as the JSON list of its facts (their JSON form, one object per fact)."""
    return json.dumps([dict(zip(r._fields, r, strict=True)) for r in rows], separators=(",", ":"))


def set_bytes(rows: Sequence[FactRow]) -> bytes:
    """A fact set's content as compact JSON: the names of its model's fields once, then each
    fact as the list of its values (``{"f": [...], "r": [[...], ...]}``; ``[]`` for none).
    Half the text of :func:`set_json` and made in half the time (no dictionary per fact): what
    ``FactSet.payload`` keeps and what the apply journal's digest hashes."""
    if not rows:
        return b"[]"
    return json.dumps({"f": rows[0]._fields, "r": rows}, separators=(",", ":")).encode()


#: What starts a payload of :func:`set_bytes`, deflated (zlib) and in base64.
_PACKED = "c:"
#: What starts a payload of :func:`set_json`, deflated and in base64 (earlier versions).
_COMPRESSED = "z:"


def pack(data: bytes) -> str:
    """:func:`set_bytes` as ``FactSet.payload`` keeps it: deflated, in base64 after ``c:``.
    Fact sets are the store's largest texts: compressed they take a tenth of the space, and
    the store's memory for writing and checkpointing them shrinks with them."""
    return payload_of(deflate(data))


def payload_of(deflated: bytes) -> str:
    """:func:`pack` of a set whose :func:`set_bytes` are already deflated."""
    return _PACKED + base64.b64encode(deflated).decode("ascii")


def set_payload(rows: Sequence[FactRow]) -> str:
    """A fact set as ``FactSet.payload`` keeps it (:func:`pack` of :func:`set_bytes`)."""
    return pack(set_bytes(rows))


def payload_facts(payload: str) -> list[dict[str, Any]]:
    """The facts (their JSON form) of a ``FactSet.payload``: packed (:func:`set_payload`) or,
    as earlier versions wrote it, the JSON list of facts, compressed or plain."""
    if payload.startswith(_PACKED):
        doc = json.loads(zlib.decompress(base64.b64decode(payload[len(_PACKED) :], validate=True)))
        if isinstance(doc, list):
            return list(doc)
        fields = doc["f"]
        return [dict(zip(fields, values, strict=True)) for values in doc["r"]]
    if payload.startswith(_COMPRESSED):
        data = zlib.decompress(base64.b64decode(payload[len(_COMPRESSED) :], validate=True))
        return list(json.loads(data))
    return list(json.loads(payload))


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


#: The fact kinds (and firewall parts) each list of a snapshot holds.
_LIST_PARTS: dict[str, tuple[str, ...]] = {
    **{attr: (kind.value,) for kind, attr in _LISTS.items()},
    **{attr: (part,) for part, attr in FIREWALL_PARTS.items()},
    "neighbors": (FactKind.LLDP.value, FactKind.CDP.value),
    "links": (FactKind.LINKS.value,),
}


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


@dataclass(frozen=True, slots=True)
class SnapshotFacts:
    """What an apply needs of a validated snapshot, without its models: its identity, its
    scope and counts, and its facts as rows grouped by (device, kind) (:func:`facts_by_scope`).

    A parsed :class:`Snapshot` holds every fact as a model (some 1.5 KB each); these rows take
    a fraction of that. :func:`read_snapshot` makes them from the snapshot's JSON without ever
    holding all the models; :meth:`of` from a parsed snapshot."""

    snapshot_id: str
    source: str
    collected_at: datetime
    scope: dict[str, frozenset[FactKind]]
    counts: dict[str, int]
    grouped: dict[FactKey, tuple[FactRow, ...]]
    #: Configuration texts the snapshot carried (never facts: the ingest handler hands them
    #: to the compliance store after the apply, then empties this list).
    configs: list[DeviceConfig] = field(default_factory=list)

    @classmethod
    def of(cls, snapshot: Snapshot) -> SnapshotFacts:
        return cls(
            snapshot_id=snapshot.snapshot_id,
            source=snapshot.source,
            collected_at=snapshot.collected_at,
            scope=snapshot.scope_map(),
            counts=snapshot.counts(),
            grouped=facts_by_scope(snapshot),
            configs=list(snapshot.configs),
        )

    def json_chunks(self) -> Iterator[bytes]:
        """The snapshot as JSON, piece by piece (what the archive keeps): the same snapshot
        once validated, its facts in their sets' order."""
        head = {
            "format_version": 1,
            "snapshot_id": self.snapshot_id,
            "source": self.source,
            "collected_at": self.collected_iso,
            "scope": [
                {"device": device, "facts": sorted(k.value for k in kinds)}
                for device, kinds in self.scope.items()
            ],
        }
        yield json.dumps(head)[:-1].encode()
        for name in FACT_LISTS:
            parts = _LIST_PARTS.get(name, ())
            yield f', "{name}": ['.encode()
            first = True
            for (_, part), rows in self.grouped.items():
                if part not in parts or not rows:
                    continue
                text = ",".join(json.dumps(dict(zip(r._fields, r, strict=True))) for r in rows)
                yield (text if first else "," + text).encode()
                first = False
            yield b"]"
        yield b"}"

    @property
    def collected_iso(self) -> str:
        """When it was collected, in UTC (ISO 8601), as fact sets and records keep it."""
        return self.collected_at.astimezone(UTC).isoformat()


class _Head(Snapshot):
    """A snapshot's own fields and scope, validated as :class:`Snapshot` validates them; the
    checks across its facts run on the facts' keys (:func:`read_snapshot`)."""

    def _check_scope(self) -> Self:  # type: ignore[override]
        return self


class _Unread(Exception):
    """The lean reading could not vouch for the snapshot: it is validated whole instead."""


#: The model of each list's facts, from the snapshot model itself.
_ITEM_MODELS: dict[str, type[BaseModel]] = {
    name: get_args(Snapshot.model_fields[name].annotation)[0] for name in FACT_LISTS
}
_ITEM_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    name: TypeAdapter(tuple[model, ...])  # type: ignore[valid-type]
    for name, model in _ITEM_MODELS.items()
}
#: What the snapshot's checks read of a fact (its key, its owners, its flags)...
_KEY_FIELDS = ("id", "device", "devices", "managed", "protocol", "ruleset", "ruleset_id")
#: ...kept per list, for the checks, in place of the model.
_KEYS: dict[str, Any] = {
    name: namedtuple(
        f"{model.__name__}Key",
        [f for f in _KEY_FIELDS if f in model.model_fields or hasattr(model, f)],
    )
    for name, model in _ITEM_MODELS.items()
}
_SPACE = re.compile(r"[ \t\n\r]*")
#: The standard library's JSON decoder for one value at a place (``(value, end)``).
_SCAN: Callable[[str, int], tuple[Any, int]] = cast(Any, json.JSONDecoder()).scan_once
#: The snapshot model's checks across its facts (a model validator, called on their keys).
_CHECK_ACROSS: Callable[[Snapshot], Any] = cast(Any, Snapshot)._check_scope


def _layout(text: str) -> tuple[dict[str, tuple[int, int]], dict[str, array[int]]]:
    """Where the snapshot's members are in its JSON: each member that is not a list of facts
    as (start, end), each list of facts as its items' starts and ends. Items are scanned one
    at a time and forgotten (only their places are kept)."""
    head: dict[str, tuple[int, int]] = {}
    lists: dict[str, array[int]] = {}

    def space(i: int) -> int:
        match = _SPACE.match(text, i)
        return match.end() if match else i

    def expect(i: int, char: str) -> int:
        if text[i : i + 1] != char:
            raise _Unread(f"expected {char!r} at {i}")
        return space(i + 1)

    try:
        i = expect(space(0), "{")
        while text[i : i + 1] != "}":
            if text[i : i + 1] != '"':
                raise _Unread(f"expected a member name at {i}")
            key, i = _SCAN(text, i)
            if key in head or key in lists:
                raise _Unread(f"member {key!r} appears twice")
            i = expect(space(i), ":")
            if key in _ITEM_MODELS and text[i : i + 1] == "[":
                places = lists[key] = array("q")
                i = space(i + 1)
                while text[i : i + 1] != "]":
                    start = i
                    _, i = _SCAN(text, i)
                    places.append(start)
                    places.append(i)
                    i = space(i)
                    if text[i : i + 1] == ",":
                        i = space(i + 1)
                    elif text[i : i + 1] != "]":
                        raise _Unread(f"expected ',' or ']' at {i}")
                i = space(i + 1)
            else:
                start = i
                _, i = _SCAN(text, i)
                head[key] = (start, i)
                i = space(i)
            if text[i : i + 1] == ",":
                i = space(i + 1)
            elif text[i : i + 1] != "}":
                raise _Unread(f"expected ',' or '}}' at {i}")
        if space(i + 1) != len(text):
            raise _Unread("text after the snapshot")
    except (StopIteration, ValueError) as exc:  # not JSON where a value should be
        raise _Unread(str(exc)) from None
    return head, lists


def read_snapshot(data: bytes | str) -> SnapshotFacts:
    """A snapshot's JSON as the facts an apply takes, validated as
    ``Snapshot.model_validate_json`` validates it, without all of its models in memory at once:
    its own fields and scope are validated first, then each list's facts in batches (each batch
    dumped to rows and let go, keeping only each fact's key for the checks across facts), then
    the snapshot's checks across its facts, the model's own, on those keys. A snapshot this
    reading cannot vouch for is validated whole, so a snapshot that is not valid raises the
    same ``ValidationError``, and one that is gives the same facts as
    :meth:`SnapshotFacts.of`."""
    try:
        with collector_paused():
            try:
                return _read(data.decode() if isinstance(data, bytes) else data)
            except (_Unread, ValueError, AttributeError, TypeError, KeyError):
                pass  # a ValidationError is a ValueError: the whole snapshot says which
            return SnapshotFacts.of(Snapshot.model_validate_json(data))
    finally:
        release_free_memory()  # the text and the batches' models, back to the system


def _read(text: str) -> SnapshotFacts:
    places, lists = _layout(text)
    head = _Head.model_validate_json(
        "{" + ",".join(f"{json.dumps(k)}:{text[a:b]}" for k, (a, b) in places.items()) + "}"
    )
    scope = head.scope_map()
    grouped: dict[FactKey, list[FactRow]] = {
        (device, part): []
        for device, kinds in scope.items()
        for kind in kinds
        for part in (FIREWALL_PARTS if kind is FactKind.FIREWALL else (kind.value,))
    }
    keys: dict[str, tuple[Any, ...]] = {}
    for name in FACT_LISTS:
        spots = lists.pop(name, array("q"))
        kept: list[Any] = []
        make_key = _KEYS[name]._make
        fields = _KEYS[name]._fields
        for first in range(0, len(spots), 2 * _DUMP_BATCH):
            ends = spots[first : first + 2 * _DUMP_BATCH]
            batch = "[" + ",".join(text[a:b] for a, b in zip(ends[::2], ends[1::2], strict=True))
            models = _ITEM_ADAPTERS[name].validate_json(batch + "]")
            kept.extend(make_key([getattr(m, f) for f in fields]) for m in models)
            for part, owned in _owned(name, models, grouped):
                if owned:
                    for (key, _), fact in zip(
                        owned, _dump(part, [m for _, m in owned]), strict=True
                    ):
                        grouped[key].append(_encode(part, fact))
            del models
        keys[name] = tuple(kept)
        del spots
    # the model's own checks across the facts, on their keys (what they read of each fact)
    _CHECK_ACROSS(Snapshot.model_construct(**{**dict(head), **keys}))
    return SnapshotFacts(
        snapshot_id=head.snapshot_id,
        source=head.source,
        collected_at=head.collected_at,
        scope=scope,
        counts={"scope": len(head.scope), **{k: len(v) for k, v in keys.items()}},
        grouped={key: tuple(sorted(rows, key=_order)) for key, rows in grouped.items()},
        configs=list(head.configs),
    )


def _owned(
    name: str, models: Sequence[Any], grouped: Mapping[FactKey, Any]
) -> Iterator[tuple[str, list[tuple[FactKey, Any]]]]:
    """A batch of one list's facts by the part they are kept under, each with its set's key
    (as :func:`facts_by_scope` files them; a fact no set owns is left out)."""
    if name == "neighbors":
        for protocol in (FactKind.LLDP.value, FactKind.CDP.value):
            yield (
                protocol,
                [
                    ((m.device, protocol), m)
                    for m in models
                    if str(m.protocol) == protocol and (m.device, protocol) in grouped
                ],
            )
        return
    (part,) = _LIST_PARTS[name]
    if name == "links":
        owned = []
        for m in models:
            owner = next((d for d in m.devices if (d, part) in grouped), None)
            if owner is not None:
                owned.append(((owner, part), m))
        yield part, owned
        return
    attr = "id" if part == FactKind.DEVICE.value else "device"
    yield part, [((key, part), m) for m in models if ((key := getattr(m, attr)), part) in grouped]


def _rows_of(kind: str, data: bytes) -> tuple[FactRow, ...]:
    """A set's rows again from its :func:`set_bytes`."""
    doc = json.loads(data)
    if not doc:
        return ()
    if isinstance(doc, list) or tuple(doc["f"]) != _FIELDS[kind]:  # another model's fields
        facts = (
            doc
            if isinstance(doc, list)
            else [dict(zip(doc["f"], v, strict=True)) for v in doc["r"]]
        )
        return tuple(_encode(kind, f) for f in facts)
    make = _ROW_TYPES[kind]._make
    return tuple([make(_held_values(values)) for values in doc["r"]])


#: Sets kept decoded between two packs at most (a change reads some thousands; a reader of a
#: whole kind would otherwise keep every set of it as rows).
_DECODED_MAX = 50_000
#: Kinds whose sets are never held packed: the device records (one row per device, read
#: whole by the plan's device count) and the ARP tables (a gateway's names a good part of the
#: network's MACs and is read again by every change that moves one of them: decoding it each
#: time made a 1% change at 50,000 devices 6 s slower).
_UNPACKED_KINDS = frozenset({FactKind.DEVICE.value, FactKind.ARP.value})


class FactSets(MutableMapping[FactKey, tuple[FactRow, ...]]):
    """Every fact set by key, as rows; a set may be held packed (its :func:`set_bytes`,
    deflated: a tenth of the memory of its rows) and is then made rows again when it is
    read. The apply packs the sets it wrote once it is done (:meth:`pack`); reads between
    two packs share one decoding of each set (a change reads its neighbours' sets more than
    once)."""

    __slots__ = ("_decoded", "_held")

    def __init__(self) -> None:
        self._held: dict[FactKey, tuple[FactRow, ...] | bytes] = {}
        self._decoded: dict[FactKey, tuple[FactRow, ...]] = {}

    def __getitem__(self, key: FactKey) -> tuple[FactRow, ...]:
        held = self._held[key]
        if type(held) is not bytes:
            return held  # type: ignore[return-value]
        rows = self._decoded.get(key)
        if rows is None:
            rows = _rows_of(key[1], zlib.decompress(held))
            if len(self._decoded) >= _DECODED_MAX:  # a whole kind read: kept no longer
                self._decoded.clear()
            self._decoded[key] = rows
        return rows

    def hold(self, key: FactKey, deflated: bytes) -> None:
        """Hold a set packed (its :func:`set_bytes`, deflated), as the store keeps it."""
        self._held[key] = deflated
        self._decoded.pop(key, None)

    def __setitem__(self, key: FactKey, rows: tuple[FactRow, ...]) -> None:
        self._held[key] = rows
        self._decoded.pop(key, None)

    def __delitem__(self, key: FactKey) -> None:
        del self._held[key]
        self._decoded.pop(key, None)

    def __iter__(self) -> Iterator[FactKey]:
        return iter(self._held)

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, key: object) -> bool:
        return key in self._held

    def set_bytes(self, key: FactKey) -> bytes:
        """The set's :func:`set_bytes` (``[]`` where there is none), without making rows of a
        packed one."""
        held = self._held.get(key)
        if held is None:
            return set_bytes(())
        return zlib.decompress(held) if type(held) is bytes else set_bytes(held)

    def packed(self) -> int:
        """How many sets are held packed."""
        return sum(1 for held in self._held.values() if type(held) is bytes)

    def pack(self, deflated: Mapping[FactKey, bytes] | None = None) -> None:
        """Hold sets packed: those of ``deflated`` (each set's :func:`set_bytes`, deflated, as
        the apply made them from the sets it holds now) or, with none given, every set held
        as rows. Drops the sets decoded since the last pack."""
        self._decoded.clear()
        held = self._held
        if deflated is None:
            for key, rows in list(held.items()):
                if type(rows) is not bytes and key[1] not in _UNPACKED_KINDS:
                    held[key] = deflate(set_bytes(rows))
            return
        for key, data in deflated.items():
            if key in held and key[1] not in _UNPACKED_KINDS:
                held[key] = data


def deflate(data: bytes) -> bytes:
    """A set's :func:`set_bytes` as :class:`FactSets` holds it and :func:`pack` stores it."""
    return zlib.compress(data, 1)


class FactStore:
    """In-memory view of every fact set and patch; the graph store keeps the durable copy."""

    def __init__(self) -> None:
        self.sets = FactSets()
        self.origin: dict[FactKey, str] = {}  # snapshot that last wrote the set
        self.seen: dict[FactKey, str] = {}  # when that snapshot collected it (ISO 8601)
        self.patches: dict[str, dict[str, Any]] = {}  # device id -> merged changes

    def load(self, rows: Iterable[dict[str, Any]], patches: Iterable[dict[str, Any]]) -> None:
        with collector_paused():
            self._load(rows, patches)

    def _load(self, rows: Iterable[dict[str, Any]], patches: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            key = (row["device"], row["kind"])
            payload = row["payload"]
            if payload.startswith(_PACKED) and key[1] not in _UNPACKED_KINDS:
                # held as the store keeps it, made rows when first read
                self.sets.hold(key, base64.b64decode(payload[len(_PACKED) :], validate=True))
            else:
                self.sets[key] = tuple(_encode(key[1], f) for f in payload_facts(payload))
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
                # an unchanged set stays as it is held (packed, where it is)
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
