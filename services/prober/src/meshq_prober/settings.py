"""Prober service settings."""

from __future__ import annotations

import re
from pathlib import Path

from meshq_runtime.settings import (
    KafkaSettings,
    LicenseClientSettings,
    PostgresSettings,
    ServiceSettings,
)
from pydantic import Field, field_validator

from meshq_prober.definitions import Limits

__all__ = ["Settings", "parse_duration"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: str | float | int) -> float:
    """Seconds from ``3600``, ``90m``, ``24h``, ``7d`` or ``2w``."""
    if isinstance(text, int | float):
        return float(text)
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhdw]?)\s*", text)
    if match is None:
        raise ValueError("a duration such as 3600, 90m, 24h, 7d or 2w")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


class Settings(ServiceSettings, KafkaSettings, PostgresSettings, LicenseClientSettings):
    port: int = Field(8012, alias="MESHQ_PROBER_PORT")
    graph_engine_url: str | None = Field(
        "http://127.0.0.1:8001",
        alias="MESHQ_GRAPH_ENGINE_URL",
        description="Where path_analysis explains a failing probe; empty: paths say unknown.",
    )
    probes_file: Path | None = Field(
        None, alias="MESHQ_PROBES_FILE", description="YAML probe definitions, read at start."
    )
    retention_s: float = Field(
        7 * 86_400.0,
        alias="MESHQ_SYNTHETIC_RETENTION",
        description="How long results are kept: seconds or 90m, 24h, 7d, 2w.",
    )
    max_probes: int = Field(1000, ge=1, le=100_000, alias="MESHQ_PROBER_MAX_PROBES")
    min_interval_s: float = Field(5.0, ge=0.1, le=86_400, alias="MESHQ_PROBER_MIN_INTERVAL")
    max_timeout_s: float = Field(30.0, gt=0, le=600, alias="MESHQ_PROBER_MAX_TIMEOUT")
    max_response_bytes: int = Field(
        1_048_576, ge=0, le=64 * 1_048_576, alias="MESHQ_PROBER_MAX_RESPONSE_BYTES"
    )
    concurrency: int = Field(64, ge=1, le=4096, alias="MESHQ_PROBER_CONCURRENCY")

    @field_validator("retention_s", mode="before")
    @classmethod
    def _retention(cls, value: object) -> float:
        seconds = parse_duration(value)  # type: ignore[arg-type]
        if not 60 <= seconds <= 400 * 86_400:
            raise ValueError("between 1 minute and 400 days")
        return seconds

    def limits(self) -> Limits:
        return Limits(
            max_probes=self.max_probes,
            min_interval_s=self.min_interval_s,
            max_timeout_s=self.max_timeout_s,
            max_response_bytes=self.max_response_bytes,
        )
