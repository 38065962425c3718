"""The InfiniBand fabric model: GUID notation, keys, the host behind a node description."""

from __future__ import annotations

import pytest
from network_discovery.model.fabric import (
    IBChannelAdapter,
    IBLink,
    IBNode,
    IBNodeType,
    IBPort,
    IBPortCounters,
    IBSpeed,
    IBWidth,
    host_from_description,
    normalise_guid,
    split_description,
)
from pydantic import ValidationError


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("0x0002c90300a1b2c3", "0x0002c90300a1b2c3"),
        ("0002C90300A1B2C3", "0x0002c90300a1b2c3"),
        ("2c90300a1b2c3", "0x0002c90300a1b2c3"),
        (0x2C90300A1B2C3, "0x0002c90300a1b2c3"),
    ],
    ids=["0x", "upper-no-prefix", "short", "int"],
)
def test_guid_notations(given: object, stored: str) -> None:
    assert normalise_guid(given) == stored


@pytest.mark.parametrize("bad", ["0x", "xyz", "0x1" + "0" * 16, -1, 1 << 64, True])
def test_guid_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        normalise_guid(bad)


@pytest.mark.parametrize(
    ("description", "host"),
    [
        ("gpu-0101 mlx5_0", "gpu-0101"),
        ("NODE17 HCA-1", "node17"),
        ("dgx-a.example.org mlx5_11", "dgx-a.example.org"),
        ("n3 hfi1_0", "n3"),
        ("MT25408 ConnectX Mellanox Technologies", None),
        ("MT23108 InfiniHost Mellanox Technologies", None),
        ("MF0;leaf01:MQM8700/U1", None),
        ("lonely", None),
        ("two words", None),
        ("bad;host mlx5_0", None),
        ("", None),
        (None, None),
    ],
    ids=[
        "rdma-ndd",
        "ofed-hca",
        "fqdn",
        "omnipath",
        "vendor-default",
        "infinihost",
        "switch",
        "one-word",
        "unknown-device",
        "bad-host",
        "empty",
        "none",
    ],
)
def test_host_from_description(description: str | None, host: str | None) -> None:
    assert host_from_description(description) == host
    split = split_description(description)
    assert (split[0] if split else None) == host
    if split:
        assert split[1] == description.split()[1]  # type: ignore[union-attr]


def test_link_ends_are_ordered_and_distinct() -> None:
    link = IBLink(a_guid="0x20", a_port=1, b_guid="0x10", b_port=7, width=IBWidth.X4)
    assert link.ends == (("0x0000000000000010", 7), ("0x0000000000000020", 1))
    same = IBLink(a_guid="0x10", a_port=7, b_guid="0x20", b_port=1)
    assert same.id == link.id
    with pytest.raises(ValidationError, match="two different ports"):
        IBLink(a_guid="0x10", a_port=1, b_guid="0x10", b_port=1)


def test_node_rules() -> None:
    with pytest.raises(ValidationError, match="only a switch has a node LID"):
        IBNode(guid="0x1", node_type=IBNodeType.CA, lid=4)
    with pytest.raises(ValidationError, match="no host"):
        IBNode(guid="0x1", node_type=IBNodeType.SWITCH, host="leaf01")
    with pytest.raises(ValidationError, match="no host"):
        IBNode(guid="0x1", node_type=IBNodeType.SWITCH, ca_name="mlx5_0")
    with pytest.raises(ValidationError):
        IBNode(guid="0x1", node_type=IBNodeType.SWITCH, description="x" * 129)


def test_port_rate_and_degradation() -> None:
    port = IBPort(port_guid="0x1", port=3, width=IBWidth.X4, speed=IBSpeed.NDR)
    assert port.rate_gbps == 425.0 and not port.degraded and port.id == "0x0000000000000001|3"
    narrow = port.model_copy(update={"width": IBWidth.X1, "width_could_be": IBWidth.X4})
    assert narrow.degraded
    assert IBPort(port_guid="0x1", port=1).rate_gbps is None
    with pytest.raises(ValidationError):
        IBPort(port_guid="0x1", port=256)
    enabled = IBPort(port_guid="0x1", port=1, width_enabled=("12x", "1x", "4x", "4x"))
    assert enabled.width_enabled == (IBWidth.X1, IBWidth.X4, IBWidth.X12)


def test_counters_need_a_port_name() -> None:
    with pytest.raises(ValidationError, match="by LID or port GUID"):
        IBPortCounters(port=1, symbol_errors=1)
    counters = IBPortCounters(lid=4, port=1, symbol_errors=2, link_downed=0, xmit_wait=9)
    assert counters.errors() == {"symbol_errors": 2}  # congestion is not a fault
    assert counters.id == "lid:4|1"
    with pytest.raises(ValidationError):
        IBPortCounters(lid=4, port=1, rcv_errors=-1)


def test_adapter_ports_unique() -> None:
    with pytest.raises(ValidationError, match="listed twice"):
        IBChannelAdapter(name="mlx5_0", ports=({"port": 1}, {"port": 1}))
