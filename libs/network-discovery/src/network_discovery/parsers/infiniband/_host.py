"""A host's own adapters: ``ibstat`` (libibumad's view) and ``ibstatus`` (sysfs).

``ibstat``::

    CA 'mlx5_0'
            CA type: MT4123
            Number of ports: 1
            ...
            Port 1:
                    State: Active
                    Rate: 200
                    ...

``ibstatus``::

    Infiniband device 'mlx5_0' port 1 status:
            default gid:     fe80:0000:0000:0000:0c42:a103:0003:4a2e
            base lid:        0x1
            state:           4: ACTIVE
            rate:            200 Gb/sec (4X HDR)
            ...
"""

from __future__ import annotations

import re
from typing import Any

from network_discovery.model.fabric import IBCaPort, IBChannelAdapter, IBNodeType, IBSpeed
from network_discovery.parsers.infiniband._common import (
    MAX_LINE_CHARS,
    FabricResult,
    LineError,
    build,
    phys_state,
    port_state,
    speed_from_compat,
    split_lines,
    width_from_text,
)

__all__ = ["parse_ibstat", "parse_ibstatus"]

_CA = re.compile(r"^(?P<type>CA|Switch|Router)\s+'(?P<name>[^']{1,64})'\s*$")
_FIELD = re.compile(r"^\s+(?P<key>[A-Za-z][A-Za-z _]*?)\s*:\s*(?P<value>.*?)\s*$")
_PORT = re.compile(r"^\s+Port\s+(?P<port>\d+):\s*$")
_TYPES = {"CA": IBNodeType.CA, "Switch": IBNodeType.SWITCH, "Router": IBNodeType.ROUTER}
_ADAPTER_KEYS = {
    "ca type": "ca_type",
    "switch type": "ca_type",
    "router type": "ca_type",
    "firmware version": "firmware",
    "hardware version": "hardware_version",
    "node guid": "node_guid",
    "system image guid": "system_image_guid",
}
_IGNORED = {"number of ports", "effective speed"}
_LINK_LAYERS = {"infiniband": "InfiniBand", "ib": "InfiniBand", "ethernet": "Ethernet"}


def _int(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise LineError(f"{text!r} is not a number") from None


def _rate(text: str) -> float:
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(?:\s*\(FDR10\))?", text)
    if not match:
        raise LineError(f"unknown rate {text!r}")
    return float(match.group(1))


def _port_value(key: str, value: str) -> tuple[str, Any]:
    if key == "state":
        return "state", port_state(value)
    if key in ("physical state", "phys state"):
        return "phys_state", phys_state(value)
    if key == "rate":
        return "rate_gbps", _rate(value)
    if key == "base lid":
        return "lid", _int(value)
    if key == "lmc":
        return "lmc", _int(value)
    if key == "sm lid":
        return "sm_lid", _int(value)
    if key == "capability mask":
        return "capability_mask", _int(value)
    if key == "port guid":
        return "port_guid", value
    if key in ("link layer", "link_layer"):
        layer = _LINK_LAYERS.get(value.lower())
        if layer is None:
            raise LineError(f"unknown link layer {value!r}")
        return "link_layer", layer
    raise LineError(f"unknown port field {key!r}")


def parse_ibstat(text: str | bytes, *, host: str | None = None) -> FabricResult:
    """The adapters ``ibstat`` lists, with their ports; ``host`` names the machine the output
    came from (ibstat does not print it)."""
    result = FabricResult()
    adapter: dict[str, Any] | None = None
    port: dict[str, Any] | None = None
    start = 0

    def close() -> None:
        nonlocal adapter, port
        if adapter is None:
            return
        if port is not None:
            adapter["ports"].append(port)
        ports = [p for p in (build(result, start, "", IBCaPort, **q) for q in adapter["ports"])]
        values = {**adapter, "ports": tuple(p for p in ports if p is not None)}
        built = build(result, start, f"CA '{adapter['name']}'", IBChannelAdapter, **values)
        if built is not None:
            result.adapters.append(built)
        adapter = port = None

    for lineno, raw in enumerate(split_lines(text), 1):
        line = raw.rstrip()
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            result.problem(lineno, line[:200], f"line longer than {MAX_LINE_CHARS} characters")
            continue
        try:
            if m := _CA.match(line):
                close()
                start = lineno
                adapter = {
                    "host": host,
                    "name": m["name"],
                    "node_type": _TYPES[m["type"]],
                    "ports": [],
                }
                continue
            if adapter is None:
                raise LineError("not an ibstat line (expected CA '<name>')")
            if m := _PORT.match(line):
                if port is not None:
                    adapter["ports"].append(port)
                port = {"port": int(m["port"])}
                continue
            if not (m := _FIELD.match(line)):
                raise LineError("not an ibstat line")
            key, value = m["key"].lower(), m["value"]
            if key in _IGNORED or value.lower() == "unknown":
                continue
            if port is None:
                if key not in _ADAPTER_KEYS:
                    raise LineError(f"unknown adapter field {m['key']!r}")
                adapter[_ADAPTER_KEYS[key]] = value
            else:
                name, parsed = _port_value(key, value)
                port[name] = parsed
        except LineError as exc:
            result.problem(lineno, line, str(exc))
    close()
    return result


_STATUS = re.compile(r"^Infiniband device '(?P<name>[^']{1,64})' port (?P<port>\d+) status:\s*$")
_SYSFS_RATE = re.compile(
    r"^(?P<gbps>[0-9]+(?:\.[0-9]+)?) Gb/sec \((?P<width>\d+X)(?: (?P<speed>\w+))?\)$"
)


def parse_ibstatus(text: str | bytes, *, host: str | None = None) -> FabricResult:
    """The adapters and ports ``ibstatus`` lists (one block per port, read from sysfs)."""
    result = FabricResult()
    adapters: dict[str, list[dict[str, Any]]] = {}
    starts: dict[str, int] = {}
    port: dict[str, Any] | None = None
    for lineno, raw in enumerate(split_lines(text), 1):
        line = raw.rstrip()
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            result.problem(lineno, line[:200], f"line longer than {MAX_LINE_CHARS} characters")
            continue
        try:
            if m := _STATUS.match(line):
                port = {"port": int(m["port"])}
                adapters.setdefault(m["name"], []).append(port)
                starts.setdefault(m["name"], lineno)
                continue
            if port is None:
                raise LineError("not an ibstatus line (expected Infiniband device '<name>' …)")
            if not (m := _FIELD.match(line)):
                raise LineError("not an ibstatus line")
            key, value = m["key"].lower(), m["value"]
            if value == "unknown":
                continue  # the file was not readable
            if key == "default gid":
                port["gid"] = value
            elif key == "rate":
                r = _SYSFS_RATE.match(value)
                if not r:
                    raise LineError(f"unknown rate {value!r}")
                port["rate_gbps"] = float(r["gbps"])
                port["width"] = width_from_text(r["width"])
                # the kernel prints no generation for SDR
                port["speed"] = speed_from_compat(r["speed"]) if r["speed"] else IBSpeed.SDR
            else:
                name, parsed = _port_value(key, value)
                port[name] = parsed
        except LineError as exc:
            result.problem(lineno, line, str(exc))
    for name, ports in adapters.items():
        built = [build(result, starts[name], name, IBCaPort, **p) for p in ports]
        adapter = build(
            result,
            starts[name],
            name,
            IBChannelAdapter,
            host=host,
            name=name,
            ports=tuple(p for p in built if p is not None),
        )
        if adapter is not None:
            result.adapters.append(adapter)
    return result
