"""From InfiniBand and GPU facts to ``IBNode``, ``IBPort``, ``HAS_IB_PORT``, ``IB_LINK``,
``HAS_HCA``, ``GPU``, ``HAS_GPU`` and ``NEAR_HCA``. The whole fabric is projected again when
any of its facts change (or a device appears or goes): views merge across collectors.

Several hosts may each have collected the fabric; their views of one node (by node GUID),
port (by port GUID and number) or cable (by its two ends) are merged, the most recently
collected view's known values winning over older ones and unknown values never erasing a
known one. A host's own ``ibstat``/``ibstatus`` fills what the fabric view left unknown about
its adapters (firmware, the host itself when the node description does not name it) and adds
the adapter's ports the fabric view could not reach (a port whose cable is cut shows down
there only). Counters join their port by port GUID (``ibqueryerrors``) or by LID and port
number (``perfquery``); a counter naming no port the graph knows is left out. An adapter is
tied to its host's ``Device`` (``HAS_HCA``), a GPU too (``HAS_GPU``) and an NCCL rank
(``RUNS_RANK``), when the host name names one device of the graph (``fabric._hosts``: by
name, case-insensitively, else by first label); where it could name several, none is linked
and the node's ``host_candidates`` lists them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from network_discovery.model.fabric import (
    COUNTER_FIELDS,
    IBNodeType,
    IBSpeed,
    IBWidth,
    split_description,
)
from network_discovery.model.gpu import TopoConnection

from meshq_graph_engine.fabric._hosts import HostIndex
from meshq_graph_engine.fabric._nccl import NCCL_KINDS, project_nccl
from meshq_graph_engine.facts import FactStore, row_dict
from meshq_graph_engine.projection import REL_PROPS, NodeRow, RelKey, RelRow, shape_node

__all__ = ["FABRIC_KINDS", "FabricView", "project_fabric"]

FABRIC_KINDS = frozenset(
    {
        "ib_nodes",
        "ib_ports",
        "ib_links",
        "ib_counters",
        "ib_adapters",
        "gpus",
        "gpu_health",
        "gpu_affinity",
    }
    | NCCL_KINDS
)
_COUNTERS = tuple(COUNTER_FIELDS.values())
#: The store's integers are signed 64-bit; a 64-bit counter beyond is kept at the bound.
_INT64_MAX = 2**63 - 1

Nodes = dict[str, dict[str, NodeRow]]
Rels = dict[str, dict[RelKey, RelRow]]


def _merge_into(target: dict[str, Any], view: Mapping[str, Any], skip: Iterable[str] = ()) -> None:
    skipped = set(skip)
    for key, value in view.items():
        if key in skipped:
            continue
        if value is None or value == [] or value == ():
            target.setdefault(key, value)
        else:
            target[key] = value


def _port_id(guid: str, port: int) -> str:
    return f"{guid}|{port}"


def _rate(width: str | None, speed: str | None) -> float | None:
    if width is None or speed is None:
        return None
    return IBWidth(width).lanes * IBSpeed(speed).lane_gbps


def _views(facts: FactStore, kind: str) -> list[dict[str, Any]]:
    """The facts of one kind, oldest collection first (so later views win a merge)."""
    keys = sorted(facts.keys_of_kind(kind), key=lambda k: (facts.seen.get(k) or "", k))
    return [row_dict(r) for key in keys for r in facts.sets[key]]


def project_fabric(facts: FactStore, devices: Mapping[str, Any]) -> tuple[Nodes, Rels]:
    """The fabric's nodes and relationships (as projection rows) for the facts now held;
    ``devices`` are the graph's Device nodes, by id."""
    nodes: dict[str, dict[str, Any]] = {}
    collectors: dict[str, set[str]] = defaultdict(set)
    for view in _views(facts, "ib_nodes"):
        node = nodes.setdefault(view["guid"], {})
        _merge_into(node, view, skip=("device",))
        collectors[view["guid"]].add(view["device"])

    ports: dict[str, dict[str, Any]] = {}
    for view in _views(facts, "ib_ports"):
        port = ports.setdefault(_port_id(view["port_guid"], view["port"]), {})
        _merge_into(port, view, skip=("device",))

    # an adapter whose description names its host ("gpu-01 mlx5_0") and no host given
    for node in nodes.values():
        if node.get("node_type") == IBNodeType.CA.value and node.get("host") is None:
            split = split_description(node.get("description"))
            if split is not None:
                node["host"], node["ca_name"] = node.get("host") or split[0], split[1]
    # a host's own adapters: fill what the fabric view left unknown
    for adapter in _views(facts, "ib_adapters"):
        guid = adapter.get("node_guid")
        host = adapter["device"]
        if guid is not None:
            node = nodes.setdefault(guid, {"guid": guid, "node_type": IBNodeType.CA.value})
            _merge_into(
                node,
                {
                    "host": node.get("host") or host,
                    "ca_name": node.get("ca_name") or adapter["name"],
                    "firmware": adapter.get("firmware"),
                    "ca_type": adapter.get("ca_type"),
                    "system_image_guid": node.get("system_image_guid")
                    or adapter.get("system_image_guid"),
                },
            )
            collectors[guid].add(host)
        for ca_port in adapter.get("ports") or []:
            if ca_port.get("port_guid") is None or ca_port.get("link_layer") == "Ethernet":
                continue
            pid = _port_id(ca_port["port_guid"], ca_port["port"])
            known = ports.get(pid)
            seen = {
                "port_guid": ca_port["port_guid"],
                "port": ca_port["port"],
                "node_guid": guid,
                "node_type": IBNodeType.CA.value,
                "host": host,
                "lid": ca_port.get("lid"),
                "state": ca_port.get("state"),
                "phys_state": ca_port.get("phys_state"),
                "width": ca_port.get("width"),
                "speed": ca_port.get("speed"),
            }
            if known is None:
                ports[pid] = {k: v for k, v in seen.items() if v is not None}
            else:  # the fabric's view wins; the host's fills the gaps
                for key, value in seen.items():
                    if known.get(key) is None and value is not None:
                        known[key] = value

    links: dict[tuple[str, str], dict[str, Any]] = {}
    for view in _views(facts, "ib_links"):
        a = _port_id(view["a_guid"], view["a_port"])
        b = _port_id(view["b_guid"], view["b_port"])
        link = links.setdefault((a, b), {})
        _merge_into(link, {"width": view.get("width"), "speed": view.get("speed")})
        for pid, guid, number in (
            (a, view["a_guid"], view["a_port"]),
            (b, view["b_guid"], view["b_port"]),
        ):
            ports.setdefault(pid, {"port_guid": guid, "port": number})

    # counters: by port GUID, else by (LID, port)
    by_lid: dict[tuple[int, int], str] = {}
    for pid, port in ports.items():
        if port.get("lid"):
            by_lid.setdefault((port["lid"], port["port"]), pid)
    for view in _views(facts, "ib_counters"):
        if view.get("port") is None:
            continue  # the all-ports sum is no port's
        if view.get("port_guid") is not None:
            pid = _port_id(view["port_guid"], view["port"])
            target = ports.get(pid)
        else:
            found = by_lid.get((view.get("lid") or 0, view["port"]))
            target = None if found is None else ports[found]
        if target is None:
            continue
        for name in _COUNTERS:
            value = view.get(name)
            if value is not None:
                target[name] = min(value, _INT64_MAX)
        if view.get("extended"):
            target["counters_extended"] = True

    # ports take their node's identity; nodes named by a port only (iblinkinfo) stay ports
    port_guid_node: dict[str, str] = {}
    for port in ports.values():
        if port.get("node_guid") is not None:
            port_guid_node[port["port_guid"]] = port["node_guid"]
    out_nodes: Nodes = defaultdict(dict)
    out_rels: Rels = defaultdict(dict)
    linked = {end for pair in links for end in pair}
    for pid, port in ports.items():
        node_guid = port.get("node_guid") or port_guid_node.get(port["port_guid"])
        owner = nodes.get(node_guid) if node_guid is not None else None
        if owner is None and port["port_guid"] in nodes:  # a switch: its port 0 GUID is its own
            node_guid, owner = port["port_guid"], nodes[port["port_guid"]]
        host = port.get("host")
        if host is None and owner is not None:
            host = owner.get("host")
        if host is None and port.get("node_type") == IBNodeType.CA.value:
            split = split_description(port.get("node_description"))
            host = split[0] if split else None
        row = {
            **port,
            "id": pid,
            "node_guid": node_guid,
            "node_type": port.get("node_type") or (owner or {}).get("node_type"),
            "node_description": port.get("node_description") or (owner or {}).get("description"),
            "host": host,
            "degraded": port.get("width_could_be") is not None
            or port.get("speed_could_be") is not None,
            "rate_gbps": _rate(port.get("width"), port.get("speed")),
            "linked": pid in linked,
            "counters_extended": bool(port.get("counters_extended")),
        }
        out_nodes["IBPort"][pid] = shape_node("IBPort", row)
        if owner is not None and node_guid is not None:
            out_rels["HAS_IB_PORT"][(node_guid, pid)] = ()

    hosts = HostIndex(devices)
    for guid, node in nodes.items():
        match = hosts.match(node.get("host"))
        row = {
            **node,
            "id": guid,
            "collected_by": sorted(collectors.get(guid, ())),
            "host_candidates": list(match.candidates),
        }
        out_nodes["IBNode"][guid] = shape_node("IBNode", row)
        if match.device is not None:
            out_rels["HAS_HCA"][(match.device, guid)] = ()
    props = REL_PROPS["IB_LINK"]
    for (a, b), link in links.items():
        out_rels["IB_LINK"][(a, b)] = tuple(link.get(p) for p in props)
    adapters = {
        (str(node["host"]).split(".", 1)[0].lower(), node["ca_name"]): guid
        for guid, node in nodes.items()
        if node.get("host") and node.get("ca_name")
    }
    project_gpus(facts, hosts, adapters, out_nodes, out_rels)
    project_nccl(facts, hosts, adapters, out_nodes, out_rels)  # NCCL jobs join the GPUs and ports
    return out_nodes, out_rels


def project_gpus(
    facts: FactStore,
    hosts: HostIndex,
    adapters: Mapping[tuple[str, str], str],
    out_nodes: Nodes,
    out_rels: Rels,
) -> None:
    """``GPU`` nodes (every GPU a host's outputs named), ``HAS_GPU`` from the host's device,
    ``NEAR_HCA`` to the fabric's adapters nearest to each GPU (``adapters``: (short host
    name, adapter name) -> node GUID)."""
    gpus: dict[str, dict[str, Any]] = {}

    def gpu(host: str, index: int) -> dict[str, Any]:
        return gpus.setdefault(f"gpu:{host}:{index}", {"host": host, "gpu_index": index})

    for view in _views(facts, "gpus"):
        _merge_into(gpu(view["host"], view["index"]), view, skip=("device", "index"))
    for view in _views(facts, "gpu_health"):
        row = gpu(view["host"], view["index"])
        row["verdict"] = view["verdict"]
        row["reasons"] = json.dumps(view.get("reasons") or [], sort_keys=True)
        row["checked"] = view.get("checked") or []
        row["health_sources"] = view.get("sources") or []
        if view.get("uuid") and not row.get("uuid"):
            row["uuid"] = view["uuid"]
    near: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for view in _views(facts, "gpu_affinity"):
        gpu(view["host"], view["gpu_index"])
        connection = TopoConnection(view["connection"])
        near[f"gpu:{view['host']}:{view['gpu_index']}"].append(
            (connection.rank, view["hca"], connection.value)
        )
    conn_props = REL_PROPS["NEAR_HCA"]
    for gpu_id, row in gpus.items():
        options = sorted(near.get(gpu_id, []))
        best = [o for o in options if o[0] == options[0][0]] if options else []
        row["hcas"] = [name for _, name, _ in best]
        row["hca_connection"] = best[0][2] if best else None
        match = hosts.match(row["host"])
        row["host_candidates"] = list(match.candidates)
        out_nodes["GPU"][gpu_id] = shape_node("GPU", {**row, "id": gpu_id})
        if match.device is not None:
            out_rels["HAS_GPU"][(match.device, gpu_id)] = ()
        host_short = str(row["host"]).split(".", 1)[0].lower()
        for _, name, path in best:
            guid = adapters.get((host_short, name))
            if guid is not None:
                out_rels["NEAR_HCA"][(gpu_id, guid)] = tuple(
                    {"connection": path}.get(p) for p in conn_props
                )


@dataclass
class FabricView:
    """The fabric rows the projection holds now, to replace them when the facts change."""

    nodes: dict[str, set[str]] = field(default_factory=dict)
    rels: dict[str, set[RelKey]] = field(default_factory=dict)

    def refresh(
        self,
        facts: FactStore,
        devices: Mapping[str, Any],
        set_node: Callable[[str, str, NodeRow | None], None],
        set_rel: Callable[[str, RelKey, RelRow | None], None],
    ) -> None:
        """Project the fabric again and write what changed through the graph's setters."""
        nodes, rels = project_fabric(facts, devices)
        for label, ids in self.nodes.items():
            for node_id in ids - nodes.get(label, {}).keys():
                set_node(label, node_id, None)
        for name, keys in self.rels.items():
            for key in keys - rels.get(name, {}).keys():
                set_rel(name, key, None)
        for label, rows in nodes.items():
            for node_id, node_row in rows.items():
                set_node(label, node_id, node_row)
        for name, keyed in rels.items():
            for key, rel_row in keyed.items():
                set_rel(name, key, rel_row)
        self.nodes = {label: set(rows) for label, rows in nodes.items()}
        self.rels = {name: set(keyed) for name, keyed in rels.items()}

    @property
    def empty(self) -> bool:
        return not any(self.nodes.values())
