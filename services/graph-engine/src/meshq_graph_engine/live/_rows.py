"""Node rows made from fact rows, as the models would dump them, without building models.

A fact row holds its model's fields in their JSON form, validated when the snapshot arrived;
where a label's schema properties are the model's fields (interfaces, VLANs, endpoints), the
fact row is the node row. Where they add computed properties (an address's network, a BGP
session's ``external``), they are computed here as the model's properties compute them.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from functools import lru_cache
from typing import Any

from network_discovery.model import (
    Device,
    Interface,
    bgp_peer_id,
    subnet_id,
)
from pydantic import TypeAdapter

from meshq_graph_engine.facts import FactRow
from meshq_graph_engine.projection import NODE_PROPS, NodeRow, shape_node

__all__ = [
    "address_row",
    "bgp_row",
    "device_row",
    "implicit_device",
    "implicit_interface",
    "json_time",
    "unmanaged_row",
]

_TIME = TypeAdapter(datetime)

assert NODE_PROPS["Interface"] == tuple(Interface.model_fields)
assert NODE_PROPS["Device"] == (*Device.model_fields, "degree")


@lru_cache(maxsize=4096)
def json_time(when: str | None) -> str | None:
    """A collection time (ISO 8601) as a model's datetime field dumps it."""
    if when is None:
        return None
    return str(_TIME.dump_python(datetime.fromisoformat(when), mode="json"))


@lru_cache(maxsize=65_536)
def _network(address: str) -> tuple[str, int]:
    iface = ipaddress.ip_interface(address)
    return str(iface.network), iface.version


@lru_cache(maxsize=65_536)
def _subnet_id(network: str, vrf: str | None) -> str:
    return subnet_id(network, vrf)


def address_row(row: FactRow) -> tuple[str, NodeRow, str, NodeRow]:
    """An IP address fact as (node id, row, its subnet's id, the subnet's row)."""
    ip, prefix = row.address.split("/", 1)
    network, version = _network(row.address)
    node_id = f"{row.device}|{row.interface}|{row.address}"
    node: NodeRow = (row.device, row.interface, row.address, row.vrf, row.virtual)
    node += (ip, int(prefix), version, network)
    return node_id, node, _subnet_id(network, row.vrf), (network, row.vrf, None, version)


def bgp_row(row: FactRow) -> tuple[str, NodeRow]:
    return bgp_peer_id(row.device, row.remote_address, row.vrf), (
        *row,
        row.local_asn != row.remote_asn,
    )


def device_row(row: FactRow, patch: dict[str, Any] | None) -> NodeRow:
    """A device record with its patch applied (validated, as patched values take the
    model's types), without ``degree``."""
    if not patch:
        return tuple(row)
    data = {k: (list(v) if isinstance(v, tuple) else v) for k, v in row._asdict().items()}
    device = Device.model_validate({**data, **patch})
    return shape_node("Device", device.model_dump(mode="json"))[:-1]


def unmanaged_row(data: dict[str, Any]) -> NodeRow:
    return shape_node("Device", data)[:-1]


_EMPTY_LISTS = {
    label: {i for i, p in enumerate(NODE_PROPS[label]) if p in fields}
    for label, fields in (
        ("Interface", ("trunk_vlans",)),
        (
            "Device",
            (
                "capabilities",
                "tags",
                "ntp_servers",
                "logging_hosts",
                "aaa_servers",
                "snmp_versions",
                "remote_access",
            ),
        ),
    )
}


def implicit_interface(device: str, name: str) -> NodeRow:
    """The row of an interface the graph knows only from a reference (a link end, an
    endpoint's port): ``Interface(device=device, name=name)``."""
    lists = _EMPTY_LISTS["Interface"]
    rest = (() if i in lists else None for i in range(2, len(NODE_PROPS["Interface"])))
    return (device, name, *rest)


def implicit_device(device: str) -> NodeRow:
    """The row (without ``degree``) of a device known only by its interfaces:
    ``Device(hostname=device, managed=False)``."""
    lists = _EMPTY_LISTS["Device"]
    props = NODE_PROPS["Device"][:-1]
    values: list[Any] = [() if i in lists else None for i in range(len(props))]
    values[props.index("hostname")] = device
    values[props.index("managed")] = False
    return tuple(values)
