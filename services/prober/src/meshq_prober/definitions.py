"""Probe definitions: what to probe, how often, within what time, from where.

A definition comes from the YAML file (``MESHQ_PROBES_FILE``) or the API; both pass through
:func:`parse_probe`, which checks it against the service's bounds (:class:`Limits`).

```yaml
probes:
  - name: web-frontend
    kind: http
    url: https://shop.example.net/health
    expected_status: [200]
    body_regex: '"status": *"ok"'
    interval_s: 30
    timeout_s: 5
    source: edge-fw1          # a device (or device:interface, or an address): the path's start
  - {name: core-ping, kind: icmp, host: 10.0.0.1, source: 10.20.0.5}
  - {name: db-port, kind: tcp, host: db1.example.net, port: 5432}
  - {name: resolver, kind: dns, server: 10.0.0.53, query_name: example.net, query_type: A}
```
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

__all__ = [
    "DnsProbe",
    "HttpProbe",
    "IcmpProbe",
    "Limits",
    "ProbeDefinitionError",
    "ProbeSpec",
    "TcpProbe",
    "load_probes",
    "load_probes_file",
    "parse_probe",
]

#: The largest probes file read.
MAX_FILE_BYTES = 1_048_576
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_HOST = r"^[A-Za-z0-9_.:%-]+$"
#: A device, ``device:interface`` or an address.
_SOURCE = r"^[A-Za-z0-9_.:/@%-]+$"


class ProbeDefinitionError(ValueError):
    """A definition that cannot be used; the message names the probe and the field."""


@dataclass(frozen=True)
class Limits:
    max_probes: int = 1000
    min_interval_s: float = 5.0
    max_timeout_s: float = 30.0
    max_response_bytes: int = 1_048_576


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(max_length=128, pattern=_NAME, description="Unique probe name.")
    interval_s: float = Field(60.0, gt=0, le=86_400, description="Seconds between two runs.")
    timeout_s: float = Field(5.0, gt=0, le=600, description="Seconds one run may take.")
    source: str | None = Field(
        None,
        max_length=255,
        pattern=_SOURCE,
        description="Where the probe is taken to start, for the path of a failure: a device, "
        "device:interface, or an address (unset: the prober's own address toward the target).",
    )
    labels: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=256)]] = (
        Field(default_factory=dict, max_length=16)
    )

    def target(self) -> str:  # pragma: no cover - every kind overrides it
        raise NotImplementedError

    def hostname(self) -> str:  # pragma: no cover - every kind overrides it
        raise NotImplementedError


class IcmpProbe(_Base):
    kind: Literal["icmp"] = "icmp"
    host: str = Field(max_length=253, pattern=_HOST, description="Address or name to ping.")

    def target(self) -> str:
        return self.host

    def hostname(self) -> str:
        return self.host


class TcpProbe(_Base):
    kind: Literal["tcp"] = "tcp"
    host: str = Field(max_length=253, pattern=_HOST)
    port: int = Field(ge=1, le=65535)

    def target(self) -> str:
        return f"{_bracket(self.host)}:{self.port}"

    def hostname(self) -> str:
        return self.host


class HttpProbe(_Base):
    kind: Literal["http"] = "http"
    url: str = Field(min_length=8, max_length=2048, description="http:// or https:// URL.")
    method: Literal["GET", "HEAD"] = "GET"
    expected_status: list[Annotated[int, Field(ge=100, le=599)]] = Field(
        default_factory=list,
        max_length=32,
        description="Statuses that count as success (empty: any 2xx).",
    )
    body_regex: str | None = Field(
        None, max_length=512, description="A regular expression the body must match."
    )
    tls_verify: bool = Field(True, description="Check the server's certificate and name.")
    follow_redirects: bool = False

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("an http:// or https:// URL with a host")
        if parts.username or parts.password:
            raise ValueError("credentials in the URL are not accepted")
        return value

    @field_validator("body_regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        return _check_regex(value)

    def target(self) -> str:
        return self.url

    def hostname(self) -> str:
        return urlsplit(self.url).hostname or ""

    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)


Rcode = Literal["NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED"]


class DnsProbe(_Base):
    kind: Literal["dns"] = "dns"
    server: str = Field(
        max_length=253, pattern=_HOST, description="The DNS server's address or name."
    )
    port: int = Field(53, ge=1, le=65535)
    transport: Literal["udp", "tcp"] = "udp"
    query_name: str = Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9_.*-]+\.?$")
    query_type: Literal["A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT"] = "A"
    valid_rcodes: list[Rcode] = Field(
        default_factory=lambda: list[Rcode](["NOERROR"]), min_length=1, max_length=4
    )
    answer_regex: str | None = Field(
        None, max_length=512, description="A regular expression some answer record must match."
    )

    @field_validator("answer_regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        return _check_regex(value)

    def target(self) -> str:
        return f"{_bracket(self.server)}:{self.port}"

    def hostname(self) -> str:
        return self.server


ProbeSpec = Annotated[IcmpProbe | TcpProbe | HttpProbe | DnsProbe, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[IcmpProbe | TcpProbe | HttpProbe | DnsProbe] = TypeAdapter(ProbeSpec)


def _check_regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
    return value


def _bracket(host: str) -> str:
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host


def _errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'probe'}: {e['msg']}" for e in exc.errors()
    )[:1000]


def parse_probe(raw: Any, limits: Limits) -> IcmpProbe | TcpProbe | HttpProbe | DnsProbe:
    """One definition, checked against the service's bounds."""
    if not isinstance(raw, dict):
        raise ProbeDefinitionError("a probe is a mapping (name, kind, ...)")
    name = str(raw.get("name", "?"))[:128]
    try:
        spec = _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        raise ProbeDefinitionError(f"probe {name!r}: {_errors(exc)}") from None
    if spec.interval_s < limits.min_interval_s:
        raise ProbeDefinitionError(
            f"probe {name!r}: interval_s: at least {limits.min_interval_s:g} seconds"
        )
    if spec.timeout_s > limits.max_timeout_s:
        raise ProbeDefinitionError(
            f"probe {name!r}: timeout_s: at most {limits.max_timeout_s:g} seconds"
        )
    if spec.timeout_s > spec.interval_s:
        raise ProbeDefinitionError(f"probe {name!r}: timeout_s: longer than interval_s")
    return spec


def load_probes(
    text: str, limits: Limits, origin: str = "probes file"
) -> list[IcmpProbe | TcpProbe | HttpProbe | DnsProbe]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProbeDefinitionError(f"{origin}: not YAML: {exc}") from None
    if doc is None:
        return []
    items = doc.get("probes") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise ProbeDefinitionError(f"{origin}: expected a mapping with a 'probes' list")
    if len(items) > limits.max_probes:
        raise ProbeDefinitionError(
            f"{origin}: {len(items)} probes, more than the {limits.max_probes} allowed"
        )
    specs = []
    seen: set[str] = set()
    for item in items:
        try:
            spec = parse_probe(item, limits)
        except ProbeDefinitionError as exc:
            raise ProbeDefinitionError(f"{origin}: {exc}") from None
        if spec.name in seen:
            raise ProbeDefinitionError(f"{origin}: probe {spec.name!r} defined twice")
        seen.add(spec.name)
        specs.append(spec)
    return specs


def load_probes_file(
    path: Path, limits: Limits
) -> list[IcmpProbe | TcpProbe | HttpProbe | DnsProbe]:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ProbeDefinitionError(f"MESHQ_PROBES_FILE {path}: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ProbeDefinitionError(f"MESHQ_PROBES_FILE {path}: larger than {MAX_FILE_BYTES} bytes")
    return load_probes(data.decode("utf-8", errors="replace"), limits, origin=str(path))
