"""Small conversions from the text devices print to model values."""

from __future__ import annotations

import re

from network_discovery.model import BGPState, normalise_mac

__all__ = [
    "bgp_state",
    "capabilities",
    "clean_system_name",
    "first",
    "is_mac",
    "speed_mbps",
    "text",
    "uptime_seconds",
]

_LLDP_CODES = {
    "B": "bridge",
    "R": "router",
    "T": "telephone",
    "W": "wlan_access_point",
    "S": "station",
    "P": "repeater",
    "C": "docsis_cable_device",
    "O": "other",
}
_CDP_CODES = {
    "R": "router",
    "T": "trans_bridge",
    "B": "source_route_bridge",
    "S": "switch",
    "H": "host",
    "I": "igmp",
    "r": "repeater",
    "P": "phone",
    "D": "remote",
    "C": "cvta",
    "M": "two_port_mac_relay",
    "s": "supports_stp_dispute",
}
_CDP_PHRASES = {"two-port mac relay": "two_port_mac_relay"}
_SERIAL_SUFFIX = re.compile(r"\([^()]*\)$")


def text(value: object) -> str | None:
    """A trimmed string, or None for empty values and the '--' placeholder of NX-OS."""
    if isinstance(value, list):
        value = value[0] if value else ""
    result = str(value or "").strip().strip('"').strip()
    return result if result and result not in {"--", "-"} else None


def first(value: object) -> str | None:
    return text(value)


def is_mac(value: str | None) -> bool:
    if not value:
        return False
    try:
        normalise_mac(value)
    except ValueError:
        return False
    return True


def clean_system_name(value: str | None) -> str | None:
    """NX-OS CDP appends the serial: ``core1(FDO2412A1B2)`` -> ``core1``."""
    name = text(value)
    if name is None:
        return None
    name = _SERIAL_SUFFIX.sub("", name).strip()
    return name or None


def capabilities(value: str | None, protocol: str, *, letters: bool = False) -> tuple[str, ...]:
    """LLDP (``B,R`` / ``BR`` / ``Bridge, Router``) or CDP (words or letters) to words."""
    raw = text(value)
    if raw is None:
        return ()
    if protocol == "cdp" and letters:
        return tuple(_CDP_CODES.get(t, t.lower()) for t in raw.split())
    if protocol == "cdp":
        lowered = raw.lower()
        found = [word for phrase, word in _CDP_PHRASES.items() if phrase in lowered]
        for phrase in _CDP_PHRASES:
            lowered = lowered.replace(phrase, " ")
        return tuple(found + lowered.split())
    words: list[str] = []
    for token in re.split(r"[,\s]+", raw):
        if not token:
            continue
        if token.isupper() and len(token) <= 4 and all(c in _LLDP_CODES for c in token):
            words.extend(_LLDP_CODES[c] for c in token)
        else:
            words.append(token.lower())
    return tuple(words)


_SPEED = re.compile(r"^(?:a-)?(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[kmgt]?)(?:b(?:ps|/s)?|bit)?$", re.I)
_UNIT = {"": 1.0, "k": 0.001, "m": 1.0, "g": 1000.0, "t": 1_000_000.0}


def speed_mbps(value: str | None, *, default_unit: str = "m") -> int | None:
    """``a-1000``, ``10G``, ``1000Mb/s``, ``10Gbps``, ``1000000 Kbit`` -> Mb/s."""
    raw = text(value)
    if raw is None:
        return None
    match = _SPEED.match(raw.replace(" ", "").lower())
    if match is None:
        return None
    unit = match["unit"].lower() or default_unit
    return int(float(match["n"]) * _UNIT[unit])


_DURATION = re.compile(r"(\d+)([ywdhms])")
_SECONDS = {"y": 31_536_000, "w": 604_800, "d": 86_400, "h": 3600, "m": 60, "s": 1}


def uptime_seconds(value: str | None) -> int | None:
    """BGP up/down: ``6w2d``, ``1y10w``, ``28d01h``, ``00:14:53``, ``6w2d 4:11:20``."""
    raw = text(value)
    if raw is None or raw.lower() == "never":
        return None
    total = 0
    matched = False
    for part in raw.split():
        if ":" in part:
            pieces = part.split(":")
            if not all(p.isdigit() for p in pieces):
                return None
            total += sum(int(p) * 60**i for i, p in enumerate(reversed(pieces)))
        else:
            units = _DURATION.findall(part)
            if not units:
                return None
            total += sum(int(n) * _SECONDS[u] for n, u in units)
        matched = True
    return total if matched else None


_STATES = {
    "establ": BGPState.ESTABLISHED,
    "estab": BGPState.ESTABLISHED,
    "established": BGPState.ESTABLISHED,
    "idle": BGPState.IDLE,
    "active": BGPState.ACTIVE,
    "connect": BGPState.CONNECT,
    "opensent": BGPState.OPENSENT,
    "openconfirm": BGPState.OPENCONFIRM,
}


def bgp_state(value: str | None) -> tuple[BGPState, int | None]:
    """State or prefix count as printed: a number means established with that many."""
    raw = text(value) or ""
    if raw.isdigit():
        return BGPState.ESTABLISHED, int(raw)
    word = raw.split()[0].split("(")[0].lower() if raw else ""
    if word not in _STATES:
        raise ValueError(f"unknown BGP state {raw!r}")
    return _STATES[word], None
