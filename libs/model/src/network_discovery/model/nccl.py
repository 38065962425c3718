"""NCCL training jobs: their ranks, the GPUs and HCA ports each rank uses, the rank pairs
their rings and trees connect and over which transport, and nccl-tests measurements.

A rank is placed by host name, CUDA device and PCI bus id; the HCA port it sends through is
named as the host names it (``mlx5_0`` port 1), the key the InfiniBand fabric's HCA ports
join on. What a log does not say stays ``None``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from network_discovery.model.fields import DeviceRef, ModelBase, Text
from network_discovery.model.gpu import HcaName, PciBusId

__all__ = [
    "HcaPort",
    "JobId",
    "NcclChannelEdge",
    "NcclJob",
    "NcclRank",
    "NcclRing",
    "NcclTestResult",
    "NcclTransport",
    "NcclTreeNode",
    "RankNumber",
]

JobId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\w.:@/+-]+$")]
RankNumber = Annotated[int, Field(ge=0, le=1_048_575)]


class HcaPort(ModelBase):
    """An RDMA device port as NCCL lists it (``[0]mlx5_0:1/IB``)."""

    device: HcaName
    port: int = Field(ge=1, le=255)
    link_layer: Literal["IB", "RoCE"] | None = None

    @property
    def name(self) -> str:
        return f"{self.device}:{self.port}"


class NcclJob(ModelBase):
    """One training job as its NCCL logs show it."""

    id: JobId
    nranks: int | None = Field(default=None, ge=1, le=1_048_576)
    hosts: tuple[DeviceRef, ...] = Field(default=(), max_length=65_536)
    nccl_version: Text = Field(default=None, max_length=64)
    comm_ids: tuple[str, ...] = Field(
        default=(), max_length=4096, description="NCCL's commId of each communicator (2.1x+)."
    )
    network: Text = Field(default=None, max_length=32, description="IB, Socket or a plugin.")


class NcclRank(ModelBase):
    """Where one rank of a communicator ran and which HCA ports it used."""

    job_id: JobId
    rank: RankNumber
    nranks: int = Field(ge=1, le=1_048_576)
    host: DeviceRef | None = None
    pid: int | None = Field(default=None, ge=0)
    cuda_dev: int | None = Field(default=None, ge=0, le=1023)
    nvml_dev: int | None = Field(default=None, ge=0, le=1023)
    bus_id: PciBusId | None = None
    local_rank: int | None = Field(default=None, ge=0, le=1023)
    local_ranks: int | None = Field(default=None, ge=1, le=1024)
    comm_id: Text = Field(default=None, max_length=32)
    hca_ports: tuple[HcaPort, ...] = Field(
        default=(), max_length=64, description="Ports the rank's network channels go through."
    )


class NcclTransport(StrEnum):
    NET = "net"
    P2P = "p2p"
    SHM = "shm"
    COLLNET = "collnet"
    NVLS = "nvls"
    UNKNOWN = "unknown"


class NcclChannelEdge(ModelBase):
    """One connection of a ring, tree or channel: rank ``src`` sends to rank ``dst``."""

    job_id: JobId
    kind: Literal["ring", "channel"]
    channel: int = Field(ge=0, le=1023)
    src_rank: RankNumber
    dst_rank: RankNumber
    src_device: Text = Field(
        default=None,
        max_length=16,
        description="What NCCL printed in brackets: a CUDA "
        "device or a bus id, depending on its version; kept as printed.",
    )
    dst_device: Text = Field(default=None, max_length=16)
    transport: NcclTransport
    via: str = Field(min_length=1, max_length=128, description="As printed: NET/IB/0/GDRDMA.")
    net: Text = Field(default=None, max_length=32, description="IB, Socket, or a plugin name.")
    net_dev: int | None = Field(default=None, ge=0, le=255)
    gdr: bool | None = None
    direction: Literal["send", "receive"] | None = None
    hca_port: HcaPort | None = Field(
        default=None, description="The port ``net_dev`` names in the printing process."
    )
    host: DeviceRef | None = Field(default=None, description="Host of the printing rank.")


class NcclRing(ModelBase):
    """A ring's rank order for one channel (``Channel 00/02 : 0 1 2 3``)."""

    job_id: JobId
    channel: int = Field(ge=0, le=1023)
    ranks: tuple[RankNumber, ...] = Field(max_length=1_048_576)
    complete: bool = Field(
        default=True,
        description="False when NCCL cut the line (it prints at most 127 characters): "
        "``ranks`` is then the ring's start only.",
    )


class NcclTreeNode(ModelBase):
    """A rank's place in one channel's tree: its parent (None at the root) and children."""

    job_id: JobId
    channel: int = Field(ge=0, le=1023)
    rank: RankNumber
    parent: RankNumber | None = None
    children: tuple[RankNumber, ...] = Field(default=(), max_length=8)


class NcclTestResult(ModelBase):
    """One row of an nccl-tests table, out-of-place or in-place."""

    job_id: JobId
    test: Text = Field(default=None, max_length=64, description="all_reduce_perf, ...")
    size_bytes: int = Field(ge=0)
    count: int = Field(ge=0)
    dtype: str = Field(min_length=1, max_length=32)
    redop: Text = Field(default=None, max_length=16)
    root: int | None = Field(default=None, ge=-1)
    placement: Literal["out-of-place", "in-place"]
    time_us: float | None = Field(default=None, ge=0)
    algbw_gbps: float | None = Field(default=None, ge=0)
    busbw_gbps: float | None = Field(default=None, ge=0)
    errors: float | None = Field(default=None, ge=0, description="#wrong or max error.")
