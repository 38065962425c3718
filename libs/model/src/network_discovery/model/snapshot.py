"""The native snapshot: what one collection run saw, and what it claims to have covered.

A snapshot's ``scope`` names the devices it collected and, for each, the kinds of facts it
collected there. The graph engine replaces exactly those facts and nothing else: a snapshot of
three switches leaves the other hundred alone, and a snapshot without ARP leaves ARP-learned
endpoint addresses alone. Every fact in a snapshot must therefore belong to a device in the
scope, under a fact kind declared for that device; :class:`Snapshot` refuses anything else
with an error that names the fact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from enum import StrEnum
from typing import Any, Literal, Protocol, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from network_discovery.model.entities import (
    VLAN,
    BGPPeer,
    Device,
    Endpoint,
    Interface,
    IPAddress,
    Link,
)
from network_discovery.model.fabric_facts import (
    IBAdapterFact,
    IBCountersFact,
    IBLinkFact,
    IBNodeFact,
    IBPortFact,
)
from network_discovery.model.fields import DeviceRef, ModelBase
from network_discovery.model.firewall import (
    FirewallObject,
    FirewallRule,
    FirewallRuleset,
    FirewallZone,
)
from network_discovery.model.gpu_facts import GpuAffinityFact, GpuFact, GpuHealthFact
from network_discovery.model.nccl_facts import (
    NcclConnectionFact,
    NcclJobFact,
    NcclRankFact,
    NcclResultFact,
)
from network_discovery.model.observations import ArpEntry, MacTableEntry, NeighborObservation
from network_discovery.model.routing import Route

__all__ = [
    "CONFIG_MAX_CHARS",
    "FACT_LISTS",
    "SNAPSHOT_FORMAT_VERSION",
    "SUPPORTED_FACT_KINDS",
    "DeviceConfig",
    "FactKind",
    "ScopeEntry",
    "Snapshot",
]

SNAPSHOT_FORMAT_VERSION: Literal[1] = 1
_MAX_ERRORS = 20
#: The longest configuration text a snapshot carries: 4 MiB, and one character more, so that
#: a collector that cuts a longer one there says that it was cut.
CONFIG_MAX_CHARS = 4 * 1024 * 1024 + 1


class _OwnedFact(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def device(self) -> str | None: ...


class FactKind(StrEnum):
    """The kinds of facts a snapshot can own for a device."""

    DEVICE = "device"
    INTERFACES = "interfaces"
    IP_ADDRESSES = "ip_addresses"
    VLANS = "vlans"
    LLDP = "lldp"
    CDP = "cdp"
    ARP = "arp"
    MAC_TABLE = "mac_table"
    BGP = "bgp"
    LINKS = "links"
    ENDPOINTS = "endpoints"
    #: Firewall policy: zones, rule sets, rules, address and service objects.
    FIREWALL = "firewall"
    #: Routing tables.
    ROUTES = "routes"
    #: InfiniBand fabric as seen from the collecting host (ibnetdiscover, iblinkinfo):
    #: nodes, ports, cables; port counters (perfquery, ibqueryerrors).
    IB_NODES = "ib_nodes"
    IB_PORTS = "ib_ports"
    IB_LINKS = "ib_links"
    IB_COUNTERS = "ib_counters"
    #: The host's own InfiniBand adapters (ibstat, ibstatus).
    IB_ADAPTERS = "ib_adapters"
    #: A host's GPUs; the verdict on each with its reasons; GPU to RDMA adapter affinity.
    GPUS = "gpus"
    GPU_HEALTH = "gpu_health"
    GPU_AFFINITY = "gpu_affinity"
    #: An NCCL training job (owned by its ``nccl-job:<id>`` entry): the job, its ranks, the
    #: connections between ranks, its nccl-tests results.
    NCCL_JOBS = "nccl_jobs"
    NCCL_RANKS = "nccl_ranks"
    NCCL_CONNECTIONS = "nccl_connections"
    NCCL_RESULTS = "nccl_results"


#: Kinds a snapshot may declare.
SUPPORTED_FACT_KINDS = frozenset(FactKind)


#: The snapshot's lists of facts, by field name, in the order they are written.
FACT_LISTS = (
    "devices",
    "interfaces",
    "ip_addresses",
    "vlans",
    "neighbors",
    "arp",
    "mac_table",
    "bgp_peers",
    "links",
    "endpoints",
    "firewall_zones",
    "firewall_rulesets",
    "firewall_rules",
    "firewall_objects",
    "routes",
    "ib_nodes",
    "ib_ports",
    "ib_links",
    "ib_counters",
    "ib_adapters",
    "gpus",
    "gpu_health",
    "gpu_affinity",
    "nccl_jobs",
    "nccl_ranks",
    "nccl_connections",
    "nccl_results",
)


class ScopeEntry(ModelBase):
    """One collected device and the kinds of facts collected from it."""

    device: DeviceRef
    facts: tuple[FactKind, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_facts(self) -> Self:
        if len(set(self.facts)) != len(self.facts):
            raise ValueError(f"scope of {self.device}: a fact kind is listed twice")
        return self


class DeviceConfig(BaseModel):
    """The configuration text of one collected device, as it printed it (not trimmed: its
    line numbers are the device's)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device: DeviceRef
    text: str = Field(
        max_length=CONFIG_MAX_CHARS,
        description="The whole configuration as collected (show running-config, Junos show "
        "configuration); at most 4 MiB, a longer one cut there plus one character.",
    )
    source: str = Field(
        "",
        max_length=200,
        description="Where the text came from: the command, or the file it was read from.",
    )
    collected_at: AwareDatetime | None = Field(
        None, description="When it was collected; the snapshot's collected_at when not given."
    )


class Snapshot(ModelBase):
    """Facts from one collection run, with the scope they cover."""

    format_version: Literal[1] = Field(
        default=SNAPSHOT_FORMAT_VERSION, description="Version of this snapshot format."
    )
    snapshot_id: str = Field(
        min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$"
    )
    source: str = Field(
        min_length=1, max_length=64, description="Who produced it: cli, ssh-collector, demo, ..."
    )
    collected_at: AwareDatetime
    scope: tuple[ScopeEntry, ...] = Field(description="The devices collected, with fact kinds.")
    devices: tuple[Device, ...] = ()
    interfaces: tuple[Interface, ...] = ()
    ip_addresses: tuple[IPAddress, ...] = ()
    vlans: tuple[VLAN, ...] = ()
    neighbors: tuple[NeighborObservation, ...] = Field(default=(), description="LLDP and CDP.")
    arp: tuple[ArpEntry, ...] = ()
    mac_table: tuple[MacTableEntry, ...] = ()
    bgp_peers: tuple[BGPPeer, ...] = ()
    links: tuple[Link, ...] = Field(default=(), description="Declared links (optional).")
    endpoints: tuple[Endpoint, ...] = Field(default=(), description="Known endpoints (optional).")
    firewall_zones: tuple[FirewallZone, ...] = ()
    firewall_rulesets: tuple[FirewallRuleset, ...] = Field(
        default=(), description="Rule sets with their bindings and default actions."
    )
    firewall_rules: tuple[FirewallRule, ...] = Field(
        default=(), description="Rules, objects and groups resolved; each names its rule set."
    )
    firewall_objects: tuple[FirewallObject, ...] = Field(
        default=(), description="Address and service objects and groups (for reference)."
    )
    routes: tuple[Route, ...] = ()
    ib_nodes: tuple[IBNodeFact, ...] = Field(
        default=(), description="InfiniBand nodes, each owned by the host that collected it."
    )
    ib_ports: tuple[IBPortFact, ...] = ()
    ib_links: tuple[IBLinkFact, ...] = ()
    ib_counters: tuple[IBCountersFact, ...] = ()
    ib_adapters: tuple[IBAdapterFact, ...] = Field(
        default=(), description="A host's own InfiniBand adapters (ibstat, ibstatus)."
    )
    gpus: tuple[GpuFact, ...] = Field(default=(), description="A host's GPUs.")
    gpu_health: tuple[GpuHealthFact, ...] = Field(
        default=(), description="The verdict on each GPU, with its reasons."
    )
    gpu_affinity: tuple[GpuAffinityFact, ...] = Field(
        default=(), description="How each GPU reaches its host's RDMA adapters (topo -m)."
    )
    nccl_jobs: tuple[NcclJobFact, ...] = Field(
        default=(), description="NCCL training jobs, each owned by its nccl-job:<id> entry."
    )
    nccl_ranks: tuple[NcclRankFact, ...] = ()
    nccl_connections: tuple[NcclConnectionFact, ...] = ()
    nccl_results: tuple[NcclResultFact, ...] = Field(default=(), description="nccl-tests rows.")
    configs: tuple[DeviceConfig, ...] = Field(
        default=(),
        description="Configuration texts of devices in the scope, at most one each (kept for "
        "the compliance rules, not made into facts).",
    )

    # --- validation -------------------------------------------------------------------

    @model_validator(mode="after")
    def _check_scope(self) -> Self:
        errors: list[str] = []
        declared: dict[str, frozenset[FactKind]] = {}
        for entry in self.scope:
            if entry.device in declared:
                errors.append(f"scope: device {entry.device!r} is listed twice")
            declared[entry.device] = frozenset(entry.facts)

        def owned(where: str, devices: Sequence[str | None], kind: FactKind) -> None:
            in_scope = [d for d in devices if d is not None and d in declared]
            if all(d is None for d in devices):
                errors.append(f"{where}: names no device; every fact belongs to a device")
            elif not in_scope:
                named = " or ".join(repr(d) for d in devices if d is not None)
                errors.append(f"{where}: device {named} is not in the snapshot's scope")
            elif not any(kind in declared[d] for d in in_scope):
                errors.append(
                    f"{where}: fact kind {kind.value!r} is not declared in the scope "
                    f"for {in_scope[0]!r}"
                )

        for where, fact_id, devices, kind in self._owned_facts():
            owned(f"{where} ({fact_id})", devices, kind)

        for i, device in enumerate(self.devices):
            if not device.managed:
                errors.append(
                    f"devices[{i}] ({device.id}): a snapshot lists only the devices it collected; "
                    "neighbours it saw belong in 'neighbors'"
                )
        with_device = Counter(d.id for d in self.devices)
        for name, kinds in declared.items():
            if FactKind.DEVICE in kinds and with_device[name] == 0:
                errors.append(
                    f"scope: {name!r} declares 'device' but 'devices' has no entry for it"
                )

        for label, entities in (
            ("devices", self.devices),
            ("interfaces", self.interfaces),
            ("ip_addresses", self.ip_addresses),
            ("vlans", self.vlans),
            ("bgp_peers", self.bgp_peers),
            ("links", self.links),
            ("endpoints", self.endpoints),
            ("firewall_zones", self.firewall_zones),
            ("firewall_rulesets", self.firewall_rulesets),
            ("firewall_rules", self.firewall_rules),
            ("firewall_objects", self.firewall_objects),
            ("routes", self.routes),
            ("ib_nodes", self.ib_nodes),
            ("ib_ports", self.ib_ports),
            ("ib_links", self.ib_links),
            ("ib_counters", self.ib_counters),
            ("ib_adapters", self.ib_adapters),
            ("gpus", self.gpus),
            ("gpu_health", self.gpu_health),
            ("gpu_affinity", self.gpu_affinity),
            ("nccl_jobs", self.nccl_jobs),
            ("nccl_ranks", self.nccl_ranks),
            ("nccl_connections", self.nccl_connections),
            ("nccl_results", self.nccl_results),
        ):
            counts = Counter(e.id for e in entities)
            errors.extend(
                f"{label}: {key!r} appears {n} times" for key, n in counts.items() if n > 1
            )

        for i, config in enumerate(self.configs):
            if config.device not in declared:
                errors.append(
                    f"configs[{i}]: device {config.device!r} is not in the snapshot's scope"
                )
        errors.extend(
            f"configs: {device!r} appears {n} times"
            for device, n in Counter(c.device for c in self.configs).items()
            if n > 1
        )

        rulesets = {r.id for r in self.firewall_rulesets}
        errors.extend(
            f"firewall_rules[{i}] ({rule.id}): rule set {rule.ruleset!r} of {rule.device!r} is "
            "not in 'firewall_rulesets'"
            for i, rule in enumerate(self.firewall_rules)
            if rule.ruleset_id not in rulesets
        )

        if errors:
            more = len(errors) - _MAX_ERRORS
            lines = errors[:_MAX_ERRORS] + ([f"... and {more} more"] if more > 0 else [])
            raise ValueError("invalid snapshot:\n  " + "\n  ".join(lines))
        return self

    def _owned_facts(self) -> Iterator[tuple[str, str, Sequence[str | None], FactKind]]:
        """Each fact as (where, id, the devices that may own it, its kind)."""
        simple: tuple[tuple[str, Sequence[_OwnedFact], FactKind], ...] = (
            ("interfaces", self.interfaces, FactKind.INTERFACES),
            ("ip_addresses", self.ip_addresses, FactKind.IP_ADDRESSES),
            ("vlans", self.vlans, FactKind.VLANS),
            ("arp", self.arp, FactKind.ARP),
            ("mac_table", self.mac_table, FactKind.MAC_TABLE),
            ("bgp_peers", self.bgp_peers, FactKind.BGP),
            ("endpoints", self.endpoints, FactKind.ENDPOINTS),
            ("firewall_zones", self.firewall_zones, FactKind.FIREWALL),
            ("firewall_rulesets", self.firewall_rulesets, FactKind.FIREWALL),
            ("firewall_rules", self.firewall_rules, FactKind.FIREWALL),
            ("firewall_objects", self.firewall_objects, FactKind.FIREWALL),
            ("routes", self.routes, FactKind.ROUTES),
            ("ib_nodes", self.ib_nodes, FactKind.IB_NODES),
            ("ib_ports", self.ib_ports, FactKind.IB_PORTS),
            ("ib_links", self.ib_links, FactKind.IB_LINKS),
            ("ib_counters", self.ib_counters, FactKind.IB_COUNTERS),
            ("ib_adapters", self.ib_adapters, FactKind.IB_ADAPTERS),
            ("gpus", self.gpus, FactKind.GPUS),
            ("gpu_health", self.gpu_health, FactKind.GPU_HEALTH),
            ("gpu_affinity", self.gpu_affinity, FactKind.GPU_AFFINITY),
            ("nccl_jobs", self.nccl_jobs, FactKind.NCCL_JOBS),
            ("nccl_ranks", self.nccl_ranks, FactKind.NCCL_RANKS),
            ("nccl_connections", self.nccl_connections, FactKind.NCCL_CONNECTIONS),
            ("nccl_results", self.nccl_results, FactKind.NCCL_RESULTS),
        )
        for i, device in enumerate(self.devices):
            yield f"devices[{i}]", device.id, [device.id], FactKind.DEVICE
        for label, facts, kind in simple:
            for i, fact in enumerate(facts):
                yield f"{label}[{i}]", fact.id, [fact.device], kind
        for i, neighbor in enumerate(self.neighbors):
            yield f"neighbors[{i}]", neighbor.id, [neighbor.device], FactKind(neighbor.protocol)
        for i, link in enumerate(self.links):
            yield f"links[{i}]", link.id, link.devices, FactKind.LINKS

    # --- reading ----------------------------------------------------------------------

    def scope_map(self) -> dict[str, frozenset[FactKind]]:
        """Device id -> the fact kinds this snapshot owns for it."""
        return {entry.device: frozenset(entry.facts) for entry in self.scope}

    def facts_by_kind(self) -> dict[str, tuple[Any, ...]]:
        """Every list of facts by its name, in one place: the fact store, the counts, the
        archive and the snapshot diff all read the lists from here."""
        return {name: getattr(self, name) for name in FACT_LISTS}

    def counts(self) -> dict[str, int]:
        """How many facts of each list the snapshot carries (for logs and summaries)."""
        return {"scope": len(self.scope), **{k: len(v) for k, v in self.facts_by_kind().items()}}
