"""What went wrong while parsing a directory of device output, file by file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["DeviceSummary", "ParseIssue", "ParseReport"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class ParseIssue:
    """One problem: the file, the line when known, the template used, and what happened.

    ``error``: the file (or one of its rows) was not understood; its fact kinds are left out
    of the device's scope so the graph keeps what it knew. ``warning``: something was
    skipped or guessed, the facts are still used.
    """

    file: str
    message: str
    device: str | None = None
    line: int | None = None
    template: str | None = None
    severity: Severity = "error"

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        tpl = f" [{self.template}]" if self.template else ""
        return f"{self.severity}: {where}{tpl}: {self.message}"


@dataclass(frozen=True)
class DeviceSummary:
    """What one device contributed: outputs read and ignored, errors, facts by kind."""

    device: str
    platform: str
    read: int
    ignored: int
    errors: int
    facts: dict[str, int]
    identified: bool

    @property
    def empty(self) -> bool:
        """Nothing but the record from meta.yaml: no identity, interfaces, addresses or
        neighbours (the other kinds alone do not make a device known)."""
        useful = ("interfaces", "addresses", "neighbors", "rules", "routes")
        return not self.identified and not any(self.facts.get(k) for k in useful)


@dataclass
class ParseReport:
    """Every issue met while parsing, plus what was parsed (for summaries and logs)."""

    issues: list[ParseIssue] = field(default_factory=list)
    parsed_files: list[str] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)
    #: (where, command, format) of every output read.
    read: list[tuple[str, str, str]] = field(default_factory=list)
    #: (where, why) of every file or output left out.
    ignored: list[tuple[str, str]] = field(default_factory=list)
    devices: list[DeviceSummary] = field(default_factory=list)

    @property
    def errors(self) -> list[ParseIssue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[ParseIssue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, issue: ParseIssue) -> None:
        self.issues.append(issue)

    def extend(self, other: ParseReport) -> None:
        self.issues.extend(other.issues)
        self.parsed_files.extend(other.parsed_files)
        self.skipped_files.extend(other.skipped_files)
        self.read.extend(other.read)
        self.ignored.extend(other.ignored)
        self.devices.extend(other.devices)

    def summary(self) -> str:
        """One line per issue, for a CLI to print."""
        return "\n".join(str(i) for i in self.issues)

    @property
    def empty_devices(self) -> list[str]:
        return [d.device for d in self.devices if d.empty]

    @property
    def partial(self) -> bool:
        """Something was not read: a file failed, or a device yielded nothing."""
        return bool(self.errors or self.empty_devices)

    def device_table(self) -> str:
        """One line per device: outputs read and ignored, errors, what it contributed."""
        columns = ("device", "platform", "read", "ignored", "errors", "identity")
        kinds = ("interfaces", "addresses", "neighbors", "arp", "macs", "vlans", "routes")
        header = [*columns, *kinds]
        rows = [
            [
                d.device,
                d.platform,
                str(d.read),
                str(d.ignored),
                str(d.errors),
                "yes" if d.identified else "no",
                *(str(d.facts.get(k, 0)) for k in kinds),
            ]
            for d in self.devices
        ]
        widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        return "\n".join(line.rstrip() for line in lines)
