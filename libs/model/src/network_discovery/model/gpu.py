"""GPUs of the hosts the product reads: identity, health samples, verdicts, NIC affinity.

A GPU is keyed by its host (the host name, as everywhere in the model) and its NVML index
(the order ``nvidia-smi`` and DCGM number GPUs in); its UUID and PCI bus id, when read, let
observations from different tools meet. HCAs are named as the host names them
(``mlx5_0``), so that a GPU's affinity joins the InfiniBand fabric's HCA ports
(``mlx5_0`` port 1) on the same host. NCCL jobs are in :mod:`network_discovery.model.nccl`.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, Field

from network_discovery.model.fields import DeviceRef, ModelBase, Text

__all__ = [
    "DiagResult",
    "DiagStatus",
    "Gpu",
    "GpuHealth",
    "GpuIndex",
    "GpuNicAffinity",
    "GpuPeerLink",
    "GpuSample",
    "GpuUuid",
    "HcaName",
    "HealthReason",
    "HealthVerdict",
    "PciBusId",
    "ReasonSeverity",
    "TopoConnection",
    "normalise_pci_bus_id",
]

_PCI = re.compile(
    r"^(?:(?P<domain>[0-9a-fA-F]{1,8}):)?(?P<bus>[0-9a-fA-F]{1,2}):"
    r"(?P<dev>[0-9a-fA-F]{1,2})\.(?P<fn>[0-7])$"
)


def normalise_pci_bus_id(value: str) -> str:
    """A PCI address as ``dddd:bb:dd.f`` in lower case (``00000000:4F:00.0`` from nvidia-smi
    and DCGM, ``0000:4f:00.0`` from sysfs and ``4f:00.0`` all give ``0000:4f:00.0``)."""
    found = _PCI.match(value.strip())
    if found is None:
        raise ValueError(f"invalid PCI bus id {value!r}: expected DOMAIN:BUS:DEVICE.FUNCTION")
    domain = int(found["domain"] or "0", 16)
    if domain > 0xFFFF:
        raise ValueError(f"invalid PCI bus id {value!r}: domain above ffff")
    return f"{domain:04x}:{int(found['bus'], 16):02x}:{int(found['dev'], 16):02x}.{found['fn']}"


PciBusId = Annotated[
    str,
    Field(max_length=32, examples=["0000:4f:00.0"]),
    AfterValidator(normalise_pci_bus_id),
]
GpuUuid = Annotated[
    str,
    Field(
        pattern=r"^(?:GPU|MIG)-[0-9a-fA-F-]{8,64}$",
        max_length=80,
        description="The GPU's UUID as NVML prints it (GPU-…, MIG-… for a MIG instance).",
        examples=["GPU-34bf77d1-c686-6821-79a8-32d326c5039c"],
    ),
]
GpuIndex = Annotated[int, Field(ge=0, le=1023, description="NVML index on the host.")]
HcaName = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$",
        description="An RDMA device as the host names it (mlx5_0), the fabric's HCA name.",
        examples=["mlx5_0"],
    ),
]


class Gpu(ModelBase):
    """One GPU of a host, as nvidia-smi, DCGM or dcgm-exporter describe it."""

    host: DeviceRef
    index: GpuIndex
    uuid: GpuUuid | None = None
    pci_bus_id: PciBusId | None = None
    name: Text = Field(default=None, max_length=128, description="NVIDIA H100 80GB HBM3, ...")
    serial: Text = Field(default=None, max_length=64)
    driver_version: Text = Field(default=None, max_length=32)
    cuda_version: Text = Field(default=None, max_length=16)

    @property
    def id(self) -> str:
        return f"gpu:{self.host}:{self.index}"


class GpuSample(ModelBase):
    """One reading of a GPU's health metrics. ``None``: not read, or the source said it does
    not know (DCGM's blank values); never a guessed zero."""

    host: DeviceRef
    index: GpuIndex
    uuid: GpuUuid | None = None
    source: Literal["dcgm-exporter", "nvidia-smi"]
    taken_at: AwareDatetime | None = None
    temperature_c: float | None = Field(default=None, ge=-50, le=200)
    memory_temperature_c: float | None = Field(default=None, ge=-50, le=200)
    slowdown_temperature_c: float | None = Field(
        default=None, ge=0, le=200, description="The GPU's own slowdown threshold (nvidia-smi)."
    )
    shutdown_temperature_c: float | None = Field(
        default=None, ge=0, le=200, description="The GPU's own shutdown threshold (nvidia-smi)."
    )
    power_w: float | None = Field(default=None, ge=0, le=100_000)
    power_limit_w: float | None = Field(default=None, ge=0, le=100_000)
    utilisation_pct: float | None = Field(default=None, ge=0, le=100)
    last_xid: int | None = Field(
        default=None, ge=0, le=100_000, description="The last XID error; 0 when none."
    )
    active_xids: tuple[int, ...] = Field(
        default=(), max_length=256, description="XIDs seen inside the exporter's window."
    )
    ecc_sbe_volatile: int | None = Field(default=None, ge=0)
    ecc_dbe_volatile: int | None = Field(default=None, ge=0)
    ecc_sbe_aggregate: int | None = Field(default=None, ge=0)
    ecc_dbe_aggregate: int | None = Field(default=None, ge=0)
    retired_pages_sbe: int | None = Field(default=None, ge=0)
    retired_pages_dbe: int | None = Field(default=None, ge=0)
    retired_pages_pending: bool | None = None
    remapped_rows_correctable: int | None = Field(default=None, ge=0)
    remapped_rows_uncorrectable: int | None = Field(default=None, ge=0)
    row_remap_pending: bool | None = None
    row_remap_failure: bool | None = None
    nvlink_crc_flit_errors: int | None = Field(default=None, ge=0)
    nvlink_crc_data_errors: int | None = Field(default=None, ge=0)
    nvlink_replay_errors: int | None = Field(default=None, ge=0)
    nvlink_recovery_errors: int | None = Field(default=None, ge=0)
    pcie_replay_errors: int | None = Field(default=None, ge=0)
    memory_used_mib: float | None = Field(default=None, ge=0)
    memory_total_mib: float | None = Field(default=None, ge=0)

    @property
    def gpu_id(self) -> str:
        return f"gpu:{self.host}:{self.index}"


class HealthVerdict(StrEnum):
    """``unknown``: nothing that decides health was read; never reported as ``ok``."""

    OK = "ok"
    DEGRADED = "degraded"
    FAILED = "failed"
    UNKNOWN = "unknown"


class ReasonSeverity(StrEnum):
    """``info`` explains without changing the verdict (a counter read once cannot be said
    to increase); ``unknown`` keeps an otherwise healthy GPU from being called ``ok``."""

    INFO = "info"
    UNKNOWN = "unknown"
    DEGRADED = "degraded"
    FAILED = "failed"


class HealthReason(ModelBase):
    """Why a verdict is what it is: the metric, what was seen, the threshold it crossed."""

    severity: ReasonSeverity
    metric: str = Field(min_length=1, max_length=128)
    observed: float | str | None = None
    threshold: float | None = None
    xid: int | None = Field(default=None, ge=0, le=100_000)
    xid_meaning: Text = Field(default=None, max_length=256)
    message: str = Field(min_length=1, max_length=512)


class GpuHealth(ModelBase):
    """The verdict on one GPU and every reason for it."""

    host: DeviceRef
    index: GpuIndex
    uuid: GpuUuid | None = None
    verdict: HealthVerdict
    reasons: tuple[HealthReason, ...] = Field(default=(), max_length=256)
    checked: tuple[str, ...] = Field(
        default=(), max_length=64, description="The metrics that were read and judged."
    )
    sources: tuple[str, ...] = Field(default=(), max_length=8)

    @property
    def gpu_id(self) -> str:
        return f"gpu:{self.host}:{self.index}"


class DiagStatus(StrEnum):
    PASS = "pass"  # noqa: S105 (a test status, not a secret)
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"
    UNKNOWN = "unknown"


class DiagResult(ModelBase):
    """One test of ``dcgmi diag`` for one GPU (``index`` None: the test covers all GPUs)."""

    host: DeviceRef
    index: GpuIndex | None = None
    category: Text = Field(default=None, max_length=64)
    test: str = Field(min_length=1, max_length=128)
    status: DiagStatus
    warnings: tuple[str, ...] = Field(default=(), max_length=64)
    error_ids: tuple[int, ...] = Field(default=(), max_length=64)
    dcgm_version: Text = Field(default=None, max_length=32)


class TopoConnection(StrEnum):
    """``nvidia-smi topo -m``'s path kinds, nearest last: NVLINK (``NV#``) beats PIX, PXB,
    PHB, NODE and SYS (``SOC`` in old drivers)."""

    NVLINK = "NV"
    PIX = "PIX"
    PXB = "PXB"
    PHB = "PHB"
    NODE = "NODE"
    SYS = "SYS"

    @property
    def rank(self) -> int:
        """0 for the nearest path."""
        return list(TopoConnection).index(self)


class GpuNicAffinity(ModelBase):
    """How a GPU reaches an RDMA NIC of its host, as ``nvidia-smi topo -m`` prints it."""

    host: DeviceRef
    gpu_index: GpuIndex
    hca: HcaName
    connection: TopoConnection

    @property
    def gpu_id(self) -> str:
        return f"gpu:{self.host}:{self.gpu_index}"


class GpuPeerLink(ModelBase):
    """How two GPUs of one host reach each other (``nvlinks``: the bonded NVLink count)."""

    host: DeviceRef
    gpu_a: GpuIndex
    gpu_b: GpuIndex
    connection: TopoConnection
    nvlinks: int | None = Field(default=None, ge=1, le=64)
