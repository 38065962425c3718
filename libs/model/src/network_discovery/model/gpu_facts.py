"""GPU facts as a snapshot carries them: the models of :mod:`network_discovery.model.gpu`,
each owned by the host the GPU is in (``device``, always the same as ``host``), under the
fact kinds ``gpus`` (what the GPUs are), ``gpu_health`` (the verdict on each, with its
reasons, judged when the host's outputs were read) and ``gpu_affinity`` (how each GPU reaches
the host's RDMA adapters, from ``nvidia-smi topo -m``). A snapshot of a host replaces those
kinds for that host only."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, model_validator

from network_discovery.model.fields import DeviceRef
from network_discovery.model.gpu import Gpu, GpuHealth, GpuNicAffinity

__all__ = ["GpuAffinityFact", "GpuFact", "GpuHealthFact"]


class _OnHost:
    """``device`` is the host: filled from ``host`` when left out, and must equal it."""

    @model_validator(mode="before")
    @classmethod
    def _device_from_host(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("device") is None and "host" in data:
            return {**data, "device": data["host"]}
        return data

    @model_validator(mode="after")
    def _device_is_host(self) -> Self:
        host, device = getattr(self, "host", None), getattr(self, "device", None)
        if host != device:
            raise ValueError(f"a GPU fact belongs to its host: device {device!r} is not {host!r}")
        return self


_OWNER = "The host that owns the fact (the same as host)."


class GpuFact(_OnHost, Gpu):
    """A GPU of a host."""

    device: DeviceRef = Field(description=_OWNER)

    @property
    def id(self) -> str:
        return f"gpu:{self.host}:{self.index}"


class GpuHealthFact(_OnHost, GpuHealth):
    """The verdict on a GPU, with its reasons."""

    device: DeviceRef = Field(description=_OWNER)

    @property
    def id(self) -> str:
        return f"gpu:{self.host}:{self.index}"


class GpuAffinityFact(_OnHost, GpuNicAffinity):
    """How a GPU reaches one of its host's RDMA adapters."""

    device: DeviceRef = Field(description=_OWNER)

    @property
    def id(self) -> str:
        return f"gpu:{self.host}:{self.gpu_index}|{self.hca}"
