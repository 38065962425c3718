"""InfiniBand fabrics: nodes (switches, channel adapters, routers), their ports, the cables
between them, port error counters, and the host each channel adapter sits in.

Keys are GUIDs, written ``0x`` + 16 lower-case hex digits whatever notation the tool used
(``0x0002c90300a1b2c3``, ``0002c90300a1b2c3``, ``2c90300a1b2c3``). A node is keyed by its node
GUID. A port is keyed by (port GUID, port number): every diagnostic prints the port GUID
(``iblinkinfo`` and ``ibnetdiscover -p`` never print a channel adapter's node GUID), and the
number is needed because a switch's ports all share the switch's one port GUID. A link is the
unordered pair of its two ends.

What a tool does not print stays ``None`` (unknown): ``ibnetdiscover`` shows no port state,
``iblinkinfo`` no vendor ids, ``perfquery`` no GUIDs. Merging views of the same port is the
reader's job; each model records what one output said.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from network_discovery.model.fields import DeviceRef, ModelBase, Text

__all__ = [
    "COUNTER_FIELDS",
    "ERROR_COUNTERS",
    "Guid",
    "IBCaPort",
    "IBChannelAdapter",
    "IBLink",
    "IBNode",
    "IBNodeType",
    "IBPhysState",
    "IBPort",
    "IBPortCounters",
    "IBPortState",
    "IBSpeed",
    "IBWidth",
    "host_from_description",
    "normalise_guid",
    "split_description",
]

_HEX = re.compile(r"^(?:0x)?([0-9a-f]{1,16})$")


def normalise_guid(value: Any) -> Any:
    """``0002c903...``, ``0x2c903...`` or an int -> ``0x`` + 16 lower-case hex digits."""
    if isinstance(value, bool):
        raise ValueError("a GUID is a 64-bit number, not a boolean")
    if isinstance(value, int):
        if not 0 <= value < 1 << 64:
            raise ValueError(f"GUID {value} is outside 64 bits")
        return f"0x{value:016x}"
    if not isinstance(value, str):
        return value
    match = _HEX.match(value.strip().lower())
    if not match:
        raise ValueError(f"{value!r} is not a GUID (up to 16 hex digits, optional 0x)")
    return f"0x{int(match.group(1), 16):016x}"


Guid = Annotated[
    str,
    BeforeValidator(normalise_guid),
    Field(
        pattern=r"^0x[0-9a-f]{16}$",
        description="A 64-bit GUID as 0x + 16 lower-case hex digits.",
        examples=["0x0c42a10300000400"],
    ),
]
#: A LID: 0 when no subnet manager has assigned one; 0xC000-0xFFFE are multicast.
Lid = Annotated[int, Field(ge=0, le=0xFFFF)]
#: Unicast LIDs a forwarding table can hold (0x0001-0xBFFF).
MAX_ROUTES = 0xBFFF
PortNumber = Annotated[int, Field(ge=0, le=255, description="0 is a switch's management port.")]
Counter = Annotated[int | None, Field(default=None, ge=0, le=2**64 - 1)]


class IBNodeType(StrEnum):
    SWITCH = "switch"
    #: A channel adapter (HCA): ibnetdiscover's ``Ca``/``Hca``, ``CA`` in iblinkinfo.
    CA = "ca"
    ROUTER = "router"


class IBPortState(StrEnum):
    """The logical port state (PortInfo:PortState)."""

    DOWN = "down"
    INIT = "init"
    ARMED = "armed"
    ACTIVE = "active"


class IBPhysState(StrEnum):
    """The physical port state (PortInfo:PortPhysicalState)."""

    SLEEP = "sleep"
    POLLING = "polling"
    DISABLED = "disabled"
    TRAINING = "training"
    LINK_UP = "link_up"
    LINK_ERROR_RECOVERY = "link_error_recovery"
    PHY_TEST = "phy_test"


class IBWidth(StrEnum):
    X1 = "1x"
    X2 = "2x"
    X4 = "4x"
    X8 = "8x"
    X12 = "12x"

    @property
    def lanes(self) -> int:
        return int(self.value[:-1])


class IBSpeed(StrEnum):
    """Per-lane signalling generations."""

    SDR = "SDR"
    DDR = "DDR"
    QDR = "QDR"
    FDR10 = "FDR10"
    FDR = "FDR"
    EDR = "EDR"
    HDR = "HDR"
    NDR = "NDR"
    XDR = "XDR"

    @property
    def lane_gbps(self) -> float:
        """The signalling rate of one lane as the tools print it (2.5, 14.0625, 53.125 ...)."""
        return _LANE_GBPS[self]


_LANE_GBPS = {
    IBSpeed.SDR: 2.5,
    IBSpeed.DDR: 5.0,
    IBSpeed.QDR: 10.0,
    IBSpeed.FDR10: 10.0,
    IBSpeed.FDR: 14.0625,
    IBSpeed.EDR: 25.78125,
    IBSpeed.HDR: 53.125,
    IBSpeed.NDR: 106.25,
    IBSpeed.XDR: 212.5,
}

Widths = Annotated[tuple[IBWidth, ...], AfterValidator(lambda v: tuple(sorted(set(v), key=_wk)))]
Speeds = Annotated[tuple[IBSpeed, ...], AfterValidator(lambda v: tuple(sorted(set(v), key=_sk)))]


def _wk(width: IBWidth) -> int:
    return width.lanes


def _sk(speed: IBSpeed) -> int:
    return list(IBSpeed).index(speed)


# --- the host behind a node description ------------------------------------------------

#: The device word that ends a channel adapter's node description: rdma-ndd writes
#: ``<hostname> <device>`` (``mlx5_0``, ``hfi1_0``, ``irdma0`` ...); older stacks and
#: OFED write ``<hostname> HCA-1``.
_CA_DEVICE = re.compile(
    r"^(?:(?:mlx[45]|mthca|hfi1|qib|ipath|ehca|cxgb[34]|irdma|i40iw|bnxt_re|efa|"
    r"ocrdma|qedr|hns|erdma|mana|ionic|rxe|siw|vmw_pvrdma)_?\d+|HCA-\d+)$",
    re.IGNORECASE,
)
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9](?:[a-z0-9_-]{0,62}))*$",
    re.IGNORECASE,
)


def split_description(description: str | None) -> tuple[str, str] | None:
    """(host, device) from a channel adapter's node description, or ``None`` when the
    description does not say: exactly two words, a host name then a known device word
    (``gpu-0101 mlx5_0``, ``node17 HCA-1``). A vendor default such as ``MT25408 ConnectX
    Mellanox Technologies`` or a lone word names no host."""
    if not description:
        return None
    words = description.split()
    if len(words) != 2 or not _CA_DEVICE.match(words[1]) or not _HOSTNAME.match(words[0]):
        return None
    return words[0].lower(), words[1]


def host_from_description(description: str | None) -> str | None:
    """The host part of :func:`split_description`."""
    split = split_description(description)
    return split[0] if split else None


# --- nodes, ports, links ----------------------------------------------------------------


class IBNode(ModelBase):
    """A node of the fabric as one output showed it."""

    guid: Guid = Field(description="The node GUID.")
    node_type: IBNodeType
    description: Text = Field(default=None, max_length=128, description="NodeDescription.")
    ports: int | None = Field(default=None, ge=1, le=255, description="Number of ports.")
    system_image_guid: Guid | None = None
    vendor_id: int | None = Field(default=None, ge=0, le=0xFFFFFF)
    device_id: int | None = Field(default=None, ge=0, le=0xFFFF)
    lid: Lid | None = Field(default=None, description="A switch's LID (its port 0).")
    lmc: int | None = Field(default=None, ge=0, le=7)
    enhanced_port0: bool | None = Field(
        default=None, description="Switch port 0 is enhanced (has its own PMA counters)."
    )
    host: DeviceRef | None = Field(
        default=None,
        description="The host a channel adapter is in, from its node description; None "
        "when the description does not tell (and always for switches).",
    )
    ca_name: str | None = Field(
        default=None,
        max_length=64,
        description="The adapter's device name on its host (mlx5_0; HCA-1 on older stacks), "
        "from the node description, when it names one; how NCCL and ibstat name it.",
    )
    route_lids: tuple[Lid, ...] = Field(
        default=(),
        max_length=MAX_ROUTES,
        description="A switch's unicast forwarding table (ibroute): the destination LIDs, "
        "ascending; route_ports gives the port each leaves by (0: the switch itself).",
    )
    route_ports: tuple[PortNumber, ...] = Field(default=(), max_length=MAX_ROUTES)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.node_type is not IBNodeType.SWITCH and self.lid is not None:
            raise ValueError("only a switch has a node LID; a channel adapter's LIDs are per port")
        if self.node_type is IBNodeType.SWITCH and (self.host or self.ca_name):
            raise ValueError("a switch is no host's adapter")
        if len(self.route_lids) != len(self.route_ports):
            raise ValueError("route_lids and route_ports go in pairs")
        if self.route_lids and self.node_type is not IBNodeType.SWITCH:
            raise ValueError("only a switch has a forwarding table")
        if any(a >= b for a, b in zip(self.route_lids, self.route_lids[1:], strict=False)):
            raise ValueError("route_lids must ascend, each LID once")
        return self

    @property
    def id(self) -> str:
        return self.guid


class IBPort(ModelBase):
    """One port of a node: state, width, speed, LID, as far as the output showed them."""

    port_guid: Guid = Field(description="The port GUID (a switch: the one of its port 0).")
    port: PortNumber
    node_guid: Guid | None = Field(default=None, description="When the output shows it.")
    node_type: IBNodeType | None = None
    node_description: Text = Field(default=None, max_length=128)
    lid: Lid | None = Field(default=None, description="Base LID (a switch's ports: its LID).")
    lmc: int | None = Field(default=None, ge=0, le=7)
    state: IBPortState | None = None
    phys_state: IBPhysState | None = None
    width: IBWidth | None = Field(default=None, description="Active width.")
    width_enabled: Widths = ()
    width_supported: Widths = ()
    speed: IBSpeed | None = Field(default=None, description="Active per-lane speed.")
    speed_enabled: Speeds = ()
    speed_supported: Speeds = ()
    width_could_be: IBWidth | None = Field(
        default=None, description="iblinkinfo's 'Could be' hint: the widest both ends support."
    )
    speed_could_be: IBSpeed | None = Field(
        default=None, description="iblinkinfo's 'Could be' hint: the fastest both ends support."
    )

    @property
    def id(self) -> str:
        return f"{self.port_guid}|{self.port}"

    @property
    def degraded(self) -> bool:
        """Up, but narrower or slower than both ends could run (iblinkinfo's hints)."""
        return self.width_could_be is not None or self.speed_could_be is not None

    @property
    def rate_gbps(self) -> float | None:
        """Signalling rate of the link: lanes times the lane rate."""
        if self.width is None or self.speed is None:
            return None
        return self.width.lanes * self.speed.lane_gbps


class IBLink(ModelBase):
    """A cable between two ports, each end a (port GUID, port number); ``a`` is the smaller
    end."""

    a_guid: Guid
    a_port: PortNumber
    b_guid: Guid
    b_port: PortNumber
    width: IBWidth | None = None
    speed: IBSpeed | None = None

    @model_validator(mode="before")
    @classmethod
    def _order(cls, data: Any) -> Any:
        if isinstance(data, dict) and {"a_guid", "a_port", "b_guid", "b_port"} <= data.keys():
            a = (normalise_guid(data["a_guid"]), int(data["a_port"]))
            b = (normalise_guid(data["b_guid"]), int(data["b_port"]))
            if b < a:
                data = {
                    **data,
                    "a_guid": b[0],
                    "a_port": b[1],
                    "b_guid": a[0],
                    "b_port": a[1],
                }
        return data

    @model_validator(mode="after")
    def _check(self) -> Self:
        if (self.a_guid, self.a_port) == (self.b_guid, self.b_port):
            raise ValueError("a link joins two different ports")
        return self

    @property
    def id(self) -> str:
        return f"{self.a_guid}|{self.a_port}<->{self.b_guid}|{self.b_port}"

    @property
    def ends(self) -> tuple[tuple[str, int], tuple[str, int]]:
        return (self.a_guid, self.a_port), (self.b_guid, self.b_port)


# --- counters ---------------------------------------------------------------------------

#: perfquery/ibqueryerrors counter name -> model field, error counters first.
COUNTER_FIELDS: dict[str, str] = {
    "SymbolErrorCounter": "symbol_errors",
    "LinkErrorRecoveryCounter": "link_error_recovery",
    "LinkDownedCounter": "link_downed",
    "PortRcvErrors": "rcv_errors",
    "PortRcvRemotePhysicalErrors": "rcv_remote_physical_errors",
    "PortRcvSwitchRelayErrors": "rcv_switch_relay_errors",
    "PortXmitDiscards": "xmit_discards",
    "PortXmitConstraintErrors": "xmit_constraint_errors",
    "PortRcvConstraintErrors": "rcv_constraint_errors",
    "LocalLinkIntegrityErrors": "local_link_integrity_errors",
    "ExcessiveBufferOverrunErrors": "excessive_buffer_overrun_errors",
    "VL15Dropped": "vl15_dropped",
    "QP1Dropped": "qp1_dropped",
    "PortXmitWait": "xmit_wait",
    "PortXmitData": "xmit_data",
    "PortRcvData": "rcv_data",
    "PortXmitPkts": "xmit_pkts",
    "PortRcvPkts": "rcv_pkts",
    "PortUnicastXmitPkts": "unicast_xmit_pkts",
    "PortUnicastRcvPkts": "unicast_rcv_pkts",
    "PortMulticastXmitPkts": "multicast_xmit_pkts",
    "PortMulticastRcvPkts": "multicast_rcv_pkts",
}
#: The counters that count faults (PortXmitWait counts congestion, not faults, and is
#: kept with the data counters).
ERROR_COUNTERS = tuple(list(COUNTER_FIELDS.values())[:13])


class IBPortCounters(ModelBase):
    """A port's performance counters as one read showed them. ``perfquery`` names the port
    by LID, ``ibqueryerrors`` by port GUID: at least one of ``lid`` and ``port_guid`` is
    set. Data counters (``xmit_data``, ``rcv_data``) count 4-octet words. Counters the read
    did not show are ``None``; ``ibqueryerrors`` shows only the non-zero ones, so there a
    ``None`` error counter means zero or below its threshold."""

    lid: Lid | None = None
    port_guid: Guid | None = None
    node_description: Text = Field(default=None, max_length=128)
    port: PortNumber | None = Field(
        default=None, description="None: the counters of all ports summed (port ALL / 0xFF)."
    )
    extended: bool = Field(default=False, description="From the 64-bit extended counters.")
    source: Literal["perfquery", "ibqueryerrors"] = "perfquery"
    symbol_errors: Counter = None
    link_error_recovery: Counter = None
    link_downed: Counter = None
    rcv_errors: Counter = None
    rcv_remote_physical_errors: Counter = None
    rcv_switch_relay_errors: Counter = None
    xmit_discards: Counter = None
    xmit_constraint_errors: Counter = None
    rcv_constraint_errors: Counter = None
    local_link_integrity_errors: Counter = None
    excessive_buffer_overrun_errors: Counter = None
    vl15_dropped: Counter = None
    qp1_dropped: Counter = None
    xmit_wait: Counter = None
    xmit_data: Counter = None
    rcv_data: Counter = None
    xmit_pkts: Counter = None
    rcv_pkts: Counter = None
    unicast_xmit_pkts: Counter = None
    unicast_rcv_pkts: Counter = None
    multicast_xmit_pkts: Counter = None
    multicast_rcv_pkts: Counter = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.lid is None and self.port_guid is None:
            raise ValueError("port counters name their port by LID or port GUID")
        return self

    @property
    def id(self) -> str:
        who = self.port_guid if self.port_guid is not None else f"lid:{self.lid}"
        return f"{who}|{'all' if self.port is None else self.port}"

    def errors(self) -> dict[str, int]:
        """The error counters that are set and non-zero."""
        return {k: v for k in ERROR_COUNTERS if (v := getattr(self, k))}


# --- the host's view: ibstat / ibstatus -------------------------------------------------


class IBCaPort(ModelBase):
    """One port of a local channel adapter as ``ibstat``/``ibstatus`` show it."""

    port: PortNumber
    state: IBPortState | None = None
    phys_state: IBPhysState | None = None
    rate_gbps: float | None = Field(default=None, ge=0, le=10_000)
    lid: Lid | None = None
    lmc: int | None = Field(default=None, ge=0, le=7)
    sm_lid: Lid | None = None
    capability_mask: int | None = Field(default=None, ge=0, le=0xFFFFFFFF)
    port_guid: Guid | None = None
    gid: Text = Field(default=None, max_length=64, description="Default GID (ibstatus).")
    link_layer: Literal["InfiniBand", "Ethernet"] | None = None
    width: IBWidth | None = Field(default=None, description="From ibstatus's rate line.")
    speed: IBSpeed | None = Field(default=None, description="From ibstatus's rate line.")


class IBChannelAdapter(ModelBase):
    """A channel adapter (HCA) on a host, as ``ibstat``/``ibstatus`` show it."""

    host: DeviceRef | None = Field(default=None, description="The host the output came from.")
    name: str = Field(min_length=1, max_length=64, description="mlx5_0, mthca0, hfi1_0 ...")
    ca_type: Text = Field(default=None, max_length=64, description="MT4123, simulator ...")
    node_type: IBNodeType | None = None
    firmware: Text = Field(default=None, max_length=64)
    hardware_version: Text = Field(default=None, max_length=64)
    node_guid: Guid | None = None
    system_image_guid: Guid | None = None
    ports: tuple[IBCaPort, ...] = Field(default=(), max_length=255)

    @model_validator(mode="after")
    def _unique_ports(self) -> Self:
        numbers = [p.port for p in self.ports]
        if len(numbers) != len(set(numbers)):
            raise ValueError(f"{self.name}: a port is listed twice")
        return self

    @property
    def id(self) -> str:
        return f"{self.host or '?'}|{self.name}"
