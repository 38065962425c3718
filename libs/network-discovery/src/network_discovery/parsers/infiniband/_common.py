"""What the InfiniBand parsers share: the result they fill, input bounds, and the tools'
spellings of states, widths and speeds."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from network_discovery.model.fabric import (
    IBChannelAdapter,
    IBLink,
    IBNode,
    IBPhysState,
    IBPort,
    IBPortCounters,
    IBPortState,
    IBSpeed,
    IBWidth,
)

__all__ = [
    "MAX_INPUT_BYTES",
    "MAX_INPUT_LINES",
    "FabricInputError",
    "FabricResult",
    "LineError",
    "add_link",
    "phys_state",
    "port_state",
    "speed_from_compat",
    "speed_from_gbps",
    "split_lines",
    "width_from_text",
]

#: The largest output read (an ibnetdiscover of a 10,000-node fabric is about 5 MB).
MAX_INPUT_BYTES = 64 * 1024 * 1024
#: The most lines read.
MAX_INPUT_LINES = 2_000_000
#: The longest line read; longer lines are reported, not parsed.
MAX_LINE_CHARS = 4096


class FabricInputError(ValueError):
    """The whole input was refused (too large, not text)."""


class LineError(ValueError):
    """One line could not be read."""


@dataclass
class FabricResult:
    """What one output yielded, and the lines it could not read (1-based line, why)."""

    nodes: list[IBNode] = field(default_factory=list)
    ports: list[IBPort] = field(default_factory=list)
    links: list[IBLink] = field(default_factory=list)
    counters: list[IBPortCounters] = field(default_factory=list)
    adapters: list[IBChannelAdapter] = field(default_factory=list)
    #: lines not understood: (1-based line, why); nothing of such a line is kept
    problems: list[tuple[int, str]] = field(default_factory=list)
    #: lines read, but something on them was left out or could not be completed (a peer
    #: the output does not list, a counter the model does not keep)
    warnings: list[tuple[int, str]] = field(default_factory=list)

    def problem(self, line: int, text: str, why: str) -> None:
        self.problems.append((line, f"{why}: {text.strip()[:160]!r}"))

    def warning(self, line: int, text: str, why: str) -> None:
        self.warnings.append((line, f"{why}: {text.strip()[:160]!r}"))

    @property
    def ok(self) -> bool:
        return not self.problems


def split_lines(text: str | bytes) -> list[str]:
    """The input's lines, refused whole when it is larger than the bounds."""
    if isinstance(text, bytes):
        if len(text) > MAX_INPUT_BYTES:
            raise FabricInputError(f"input is larger than {MAX_INPUT_BYTES} bytes: not read")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FabricInputError(f"input is not UTF-8 text: {exc}") from None
    if len(text) > MAX_INPUT_BYTES:
        raise FabricInputError(f"input is larger than {MAX_INPUT_BYTES} characters: not read")
    lines = text.splitlines()
    if len(lines) > MAX_INPUT_LINES:
        raise FabricInputError(f"input has more than {MAX_INPUT_LINES} lines: not read")
    return lines


def add_link(
    links: dict[str, IBLink], link: IBLink, result: FabricResult, lineno: int, line: str
) -> None:
    """Keep one link per pair of ends. Each end's output states the width and speed it runs
    at; where the two ends disagree, the link's width or speed is unknown (each port keeps
    its own) and the disagreement is a warning."""
    seen = links.get(link.id)
    if seen is None:
        links[link.id] = link
        return
    changes: dict[str, Any] = {}
    for attr in ("width", "speed"):
        mine, theirs = getattr(link, attr), getattr(seen, attr)
        if mine is not None and theirs is not None and mine != theirs:
            changes[attr] = None
            result.warning(lineno, line, f"the two ends disagree on {attr}: {theirs} / {mine}")
        elif theirs is None and mine is not None and attr not in changes:
            changes[attr] = mine
    if changes:
        links[link.id] = seen.model_copy(update=changes)


def build(result: FabricResult, lineno: int, line: str, cls: type[Any], **values: Any) -> Any:
    """A model from parsed values; a value the model refuses is reported on the line."""
    try:
        return cls(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        result.problem(lineno, line, f"{cls.__name__} {where}: {first['msg']}")
        return None


_PORT_STATES = {
    "down": IBPortState.DOWN,
    "initialize": IBPortState.INIT,
    "initializing": IBPortState.INIT,
    "init": IBPortState.INIT,
    "armed": IBPortState.ARMED,
    "active": IBPortState.ACTIVE,
}
_PHYS_STATES = {
    "sleep": IBPhysState.SLEEP,
    "polling": IBPhysState.POLLING,
    "disabled": IBPhysState.DISABLED,
    "portconfigurationtraining": IBPhysState.TRAINING,
    "training": IBPhysState.TRAINING,
    "linkup": IBPhysState.LINK_UP,
    "linkerrorrecovery": IBPhysState.LINK_ERROR_RECOVERY,
    "phytest": IBPhysState.PHY_TEST,
}


def port_state(text: str) -> IBPortState:
    """``Active``, ``Initialize``, ``4: ACTIVE`` (sysfs), ``Down`` ... -> the state."""
    word = re.sub(r"^\d+:\s*", "", text.strip()).lower()
    try:
        return _PORT_STATES[word]
    except KeyError:
        raise LineError(f"unknown port state {text.strip()!r}") from None


def phys_state(text: str) -> IBPhysState:
    """``LinkUp``, ``5: LinkUp`` (sysfs), ``Polling``, ``Disabled`` ... -> the state."""
    word = re.sub(r"^\d+:\s*", "", text.strip()).replace(" ", "").lower()
    try:
        return _PHYS_STATES[word]
    except KeyError:
        raise LineError(f"unknown physical state {text.strip()!r}") from None


def width_from_text(text: str) -> IBWidth:
    """``4X``, ``4x``, ``12X`` -> the width."""
    try:
        return IBWidth(text.strip().lower())
    except ValueError:
        raise LineError(f"unknown link width {text.strip()!r}") from None


_COMPAT_SPEEDS = {s.value: s for s in IBSpeed}
_GBPS_SPEEDS = {
    "2.5": IBSpeed.SDR,
    "5.0": IBSpeed.DDR,
    "10.0": IBSpeed.QDR,
    "14.0625": IBSpeed.FDR,
    "25.78125": IBSpeed.EDR,
    "53.125": IBSpeed.HDR,
    "106.25": IBSpeed.NDR,
    "212.5": IBSpeed.XDR,
}


def speed_from_compat(text: str) -> IBSpeed:
    """ibnetdiscover's ``SDR`` ... ``XDR``, ``FDR10``."""
    try:
        return _COMPAT_SPEEDS[text.strip().upper()]
    except KeyError:
        raise LineError(f"unknown link speed {text.strip()!r}") from None


def speed_from_gbps(text: str) -> IBSpeed:
    """iblinkinfo's per-lane rate: ``2.5 Gbps``, ``53.125 Gbps``, ``10.0 Gbps (FDR10)``,
    ``14.0625 Gbps (FDR)`` (older releases name the generation in parentheses)."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*Gbps(?:\s*\((\w+)\))?\s*", text)
    if not match:
        raise LineError(f"unknown link speed {text.strip()!r}")
    rate, name = match.groups()
    if name and name.upper() == "FDR10":
        return IBSpeed.FDR10
    speed = _GBPS_SPEEDS.get(rate)
    if speed is None:
        raise LineError(f"unknown lane rate {rate} Gbps")
    if name and name.upper() != speed.value:
        raise LineError(f"lane rate {rate} Gbps is not {name}")
    return speed
