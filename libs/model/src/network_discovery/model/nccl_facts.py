"""NCCL facts as a snapshot carries them: a training job, its ranks, the connections between
its ranks and its nccl-tests measurements, under the fact kinds ``nccl_jobs``,
``nccl_ranks``, ``nccl_connections`` and ``nccl_results``.

NCCL's logs name no job: the job id is the caller's (a ``job.yaml`` beside the logs), and
NCCL's own ``commId`` is kept beside it. A job's facts are owned by the job itself, as the
scope entry ``nccl-job:<job id>`` (:func:`nccl_job_owner`), never by a host: ranks run on
many hosts, one host runs many jobs over time, and ingesting a job again must replace that
job's facts and nothing else. Job ids are compared case-insensitively, like device names.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import AwareDatetime, Field, model_validator

from network_discovery.model.fields import DeviceRef, ModelBase, Text
from network_discovery.model.gpu import PciBusId
from network_discovery.model.nccl import JobId, NcclTestResult, NcclTransport, RankNumber

__all__ = [
    "NCCL_OWNER_PREFIX",
    "NcclConnectionFact",
    "NcclJobFact",
    "NcclRankFact",
    "NcclResultFact",
    "nccl_job_owner",
]

NCCL_OWNER_PREFIX = "nccl-job:"
#: A job id that can own facts: the characters of a device name (no ``/``, ``@``, ``+``).
_OWNABLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
#: An HCA port as NCCL names it: ``mlx5_0:1``.
HcaPortName = Annotated[
    str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}:\d{1,3}$", examples=["mlx5_0:1"])
]


def nccl_job_owner(job_id: str) -> str:
    """The scope entry that owns a job's facts (``nccl-job:<id>``, lower case)."""
    if not _OWNABLE.match(job_id):
        raise ValueError(
            f"job id {job_id[:60]!r}: letters, digits, '.', '_', ':' and '-' only "
            "(at most 128, starting with a letter or digit)"
        )
    return NCCL_OWNER_PREFIX + job_id.lower()


class _OwnedByJob(ModelBase):
    """``device`` is the job's owner entry: filled from ``job_id`` when left out."""

    job_id: JobId
    device: DeviceRef = Field(description="The job's scope entry, nccl-job:<job id>.")

    @model_validator(mode="before")
    @classmethod
    def _device_from_job(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("device") is None and "job_id" in data:
            return {**data, "device": nccl_job_owner(str(data["job_id"]))}
        return data

    @model_validator(mode="after")
    def _device_is_job(self) -> Self:
        if self.device != nccl_job_owner(self.job_id):
            raise ValueError(
                f"an NCCL fact belongs to its job: device {self.device!r} is not "
                f"{nccl_job_owner(self.job_id)!r}"
            )
        return self


class NcclJobFact(_OwnedByJob):
    """One training job as its logs (and the caller) show it."""

    nranks: int | None = Field(default=None, ge=1, le=1_048_576)
    hosts: tuple[DeviceRef, ...] = Field(default=(), max_length=65_536)
    nccl_version: Text = Field(default=None, max_length=64)
    comm_ids: tuple[str, ...] = Field(default=(), max_length=4096)
    network: Text = Field(default=None, max_length=32)
    ring_channels: int | None = Field(
        default=None, ge=0, le=1024, description="How many rings NCCL printed the order of."
    )
    started_at: AwareDatetime | None = Field(default=None, description="From job.yaml.")
    ended_at: AwareDatetime | None = None
    name: Text = Field(default=None, max_length=256, description="From job.yaml.")

    @property
    def id(self) -> str:
        return self.job_id

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.started_at and self.ended_at and self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        return self

    @property
    def window(self) -> tuple[datetime | None, datetime | None]:
        return self.started_at, self.ended_at


class NcclRankFact(_OwnedByJob):
    """Where one rank of one communicator ran, and the HCA ports its connections used."""

    comm: str = Field(
        min_length=1, max_length=32, description="The commId, or n<nranks> when NCCL printed none."
    )
    rank: RankNumber
    nranks: int = Field(ge=1, le=1_048_576)
    host: DeviceRef | None = None
    pid: int | None = Field(default=None, ge=0)
    cuda_dev: int | None = Field(default=None, ge=0, le=1023)
    nvml_dev: int | None = Field(default=None, ge=0, le=1023)
    bus_id: PciBusId | None = None
    local_rank: int | None = Field(default=None, ge=0, le=1023)
    hca_ports: tuple[HcaPortName, ...] = Field(
        default=(), max_length=64, description="device:port names, as NCCL lists them."
    )

    @property
    def id(self) -> str:
        return f"{self.job_id}|{self.comm}|{self.rank}"


class NcclConnectionFact(_OwnedByJob):
    """One connection of one channel: rank ``src_rank`` sends to ``dst_rank``, through
    ``transport``; for a network connection the HCA port at each end, as each end's
    process printed it (the sender's ``[send]`` and the receiver's ``[receive]`` line)."""

    channel: int = Field(ge=0, le=1023)
    src_rank: RankNumber
    dst_rank: RankNumber
    src_host: DeviceRef | None = None
    dst_host: DeviceRef | None = None
    transport: NcclTransport
    via: str = Field(min_length=1, max_length=128)
    gdr: bool | None = None
    src_hca: HcaPortName | None = None
    dst_hca: HcaPortName | None = None
    in_ring: bool | None = Field(
        default=None,
        description="Whether dst follows src in the channel's printed ring order (None when "
        "the order was not printed or was cut short before the pair).",
    )

    @property
    def id(self) -> str:
        return f"{self.job_id}|{self.channel}|{self.src_rank}|{self.dst_rank}"


class NcclResultFact(_OwnedByJob, NcclTestResult):
    """One nccl-tests result row of the job."""

    index: int = Field(ge=0, le=1_000_000, description="The row's place in its output.")

    @property
    def id(self) -> str:
        return f"{self.job_id}|{self.index}|{self.placement}"
