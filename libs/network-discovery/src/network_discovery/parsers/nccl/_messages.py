"""The NCCL INFO messages the log parser reads, in their spellings across NCCL 2.4 to 2.2x,
and the messages it recognises but has no use for."""

from __future__ import annotations

import re

from network_discovery.model.gpu import normalise_pci_bus_id
from network_discovery.model.nccl import NcclTransport

__all__ = [
    "COMM_LOCAL",
    "EDGE",
    "INIT",
    "KNOWN",
    "NETWORK",
    "NET_IB",
    "NET_SOCKET",
    "RING_ORDER",
    "TREES",
    "VERSION",
    "init_details",
    "nccl_bus_id",
    "parse_tree",
    "parse_via",
]

VERSION = re.compile(r"^NCCL version (\S+)")
#: ``NET/IB : Using [0]mlx5_0:1/IB …``; RDMA plugins built on IB verbs print the same list
#: under their own name (``NET/IBext_v8 : Using …``).
NET_IB = re.compile(r"^NET/(IB\w{0,30})\s*:\s*Using\s+(.*)$")
NET_SOCKET = re.compile(r"^NET/Socket\s*:\s*Using\b")
NETWORK = re.compile(r"^Using network (\S+)")
#: ``[ncclCommInitRank] comm 0x… rank R nranks N cudaDev D [nvmlDev V] [busId B] [commId C]
#: - Init START|COMPLETE`` (2.4: no busId; 2.1x: busId; 2.18+: commId, parent/color for splits).
INIT = re.compile(
    r"^(?:ncclComm\w+\s+)?comm (?P<comm>0x[0-9a-fA-F]+) rank (?P<rank>\d{1,7}) "
    r"nranks (?P<nranks>\d{1,7}) cudaDev (?P<cuda>\d{1,4})(?P<rest>.*?) - Init "
    r"(?P<state>START|COMPLETE)\b"
)
_NVML = re.compile(r"\bnvmlDev (\d{1,4})\b")
_BUS = re.compile(r"\bbusId ([0-9a-fA-F]{1,12})\b")
_COMMID = re.compile(r"\bcommId (0x[0-9a-fA-F]{1,16})\b")
#: 2.19+: ``comm 0x… rank R nRanks N nNodes M localRanks L localRank l MNNVL 0``.
COMM_LOCAL = re.compile(
    r"^comm 0x[0-9a-fA-F]+ rank (?P<rank>\d{1,7}) nRanks (?P<nranks>\d{1,7}) nNodes \d+ "
    r"localRanks (?P<locals>\d{1,4}) "
    r"localRank (?P<local>\d{1,4})\b"
)
#: ``Channel 00/0 : 0[0] -> 1[1] via P2P/IPC``, ``Ring 00 : 15 -> 0 [send] via NET/Socket/0``,
#: ``Channel 00/1 : 15[7] -> 0[0] [receive] via NET/IB/3/GDRDMA``.
EDGE = re.compile(
    r"^(?P<kind>Channel|Ring) (?P<channel>\d{1,4})(?:/(?P<conn>\d{1,4}))? : "
    r"(?P<src>\d{1,7})(?:\[(?P<src_dev>[0-9a-fA-Fx]{1,16})\])? -> "
    r"(?P<dst>\d{1,7})(?:\[(?P<dst_dev>[0-9a-fA-Fx]{1,16})\])?"
    r"(?: \[(?P<direction>send|receive)\])? via (?P<via>\S.{0,126}?)\s*$"
)
#: ``Channel 00/02 :    0   1   2   3`` (2.5+) or ``Ring 00 : 0 1 2 3`` (older). NCCL cuts
#: the line at 127 characters and ends it with ``...`` (which may cut the last number).
RING_ORDER = re.compile(
    r"^(?:Channel|Ring) (?P<channel>\d{1,4})(?:/\d{1,4})? :\s+"
    r"(?P<ranks>\d{1,7}(?:\s+\d{1,7})*)(?P<cut>\s*\.\.\.)?\s*$"
)
TREES = re.compile(r"^Trees((?:\s+\[\d{1,4}\]\s+\S+)+)\s*$")

#: Messages known and not needed: set-up chatter, tuning, plugin discovery.
KNOWN = tuple(
    re.compile(p)
    for p in (
        r"^Bootstrap\b",
        r"^NET/",
        r"^NCCL_\w+ set\b",
        r"^Setting affinity for GPU",
        r"^threadThresholds\b",
        r"^Threads per block",
        r"^Connected (?:all rings|all trees|NVLS|binomial trees|CollNet)",
        r"^\d+ coll channels",
        r"^P2P Chunksize",
        r"^Check P2P Type",
        r"^\[Proxy Service",
        r"^TUNER/",
        r"^PROFILER/",
        r"^CC (?:On|Off)",
        r"^DMA-BUF is available",
        r"^GPU Direct RDMA",
        r"^Pattern \d+",
        r"^Topology detection",
        r"^KV Convert",
        r"^=== System",
        r"^NVLS ",
        r"^Init timings",
        r"^cudaDriverVersion",
        r"^Using non-device net plugin",
        r"^Assigned NET plugin",
        r"^Initialized NET plugin",
        r"^Enabled NCCL Func",
        r"^Comm config",
        r"^MNNVL ",
        r"^RAS ",
        r"^Could not enable P2P",
        r"^Allocated \d+ bytes",
        r"^\s*\d+ : ",
        r"^(?:GPU|NET|CPU|NIC)/",
        r"^Connection to proxy",
        r"^NVLink ",
    )
)


def init_details(rest: str) -> tuple[int | None, str | None, str | None]:
    """nvmlDev, busId and commId from what follows ``cudaDev N`` on an Init line."""
    nvml = _NVML.search(rest)
    bus = _BUS.search(rest)
    comm = _COMMID.search(rest)
    return (
        int(nvml[1]) if nvml else None,
        bus[1].lower() if bus else None,
        comm[1].lower() if comm else None,
    )


def nccl_bus_id(value: str) -> str:
    """NCCL's integer bus id (``4f000``: domain, bus, device, function packed) as a PCI
    address (``0000:4f:00.0``)."""
    number = int(value, 16)
    return normalise_pci_bus_id(
        f"{number >> 20:04x}:{(number >> 12) & 0xFF:02x}:{(number >> 4) & 0xFF:02x}."
        f"{number & 0xF:x}"
    )


_NET = re.compile(r"^NET/(?P<net>[^/]{1,32})/(?P<dev>\d{1,3})(?:\(\d+\))?(?P<rest>(?:/\S+)*)$")


def parse_via(via: str) -> tuple[NcclTransport, str | None, int | None, bool | None]:
    """(transport, network, device index, GPUDirect RDMA) of a ``via`` clause."""
    found = _NET.match(via)
    if found:
        return NcclTransport.NET, found["net"], int(found["dev"]), "GDRDMA" in found["rest"]
    head = via.split("/", 1)[0]
    if head == "P2P":
        return NcclTransport.P2P, None, None, None
    if head == "SHM" or via == "direct shared memory":
        return NcclTransport.SHM, None, None, None
    if head.lower() == "collnet":
        return NcclTransport.COLLNET, None, None, None
    if head == "NVLS":
        return NcclTransport.NVLS, None, None, None
    return NcclTransport.UNKNOWN, None, None, None


_DOWN_UP = re.compile(r"^(-?\d+)/(-?\d+)/(-?\d+)->(\d+)->(-?\d+)$")
_UP_DOWN = re.compile(r"^(-?\d+)->(\d+)->(-?\d+)/(-?\d+)/(-?\d+)$")


def parse_tree(spec: str) -> tuple[int, int | None, tuple[int, ...]] | None:
    """(rank, parent, children) of one tree entry. 2.7+: ``c0/c1/c2->rank->parent``; 2.4:
    ``parent->rank->c0/c1/c2``; 2.5 prints both halves joined by ``|`` (the first is taken).
    ``-1`` is no one."""
    spec = spec.split("|", 1)[0]
    found = _DOWN_UP.match(spec)
    if found:
        children = (found[1], found[2], found[3])
        rank, parent = int(found[4]), int(found[5])
    else:
        found = _UP_DOWN.match(spec)
        if not found:
            return None
        parent, rank = int(found[1]), int(found[2])
        children = (found[3], found[4], found[5])
    kids = tuple(int(c) for c in children if int(c) >= 0)
    return rank, (parent if parent >= 0 else None), kids
