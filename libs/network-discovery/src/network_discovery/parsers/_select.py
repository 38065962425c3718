"""Which outputs of one device are read, and in what format: files named after their command,
terminal sessions split into commands, what is empty or saved twice, brief forms where the
detailed one is there. Everything left out is reported with the reason."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from network_discovery.model import FactKind
from network_discovery.parsers._names import resolve_name
from network_discovery.parsers._session import split_session, strip_echo
from network_discovery.parsers._spec import CommandSpec
from network_discovery.parsers.report import ParseIssue, ParseReport

__all__ = ["CommandOutput", "Output", "Source", "select_outputs", "sniff_format"]

# VLAN tables are read first: Junos MAC tables name VLANs rather than number them.
_ORDER = {FactKind.VLANS: 0}


@dataclass(frozen=True)
class CommandOutput:
    """Output held in memory (collected live) rather than in a file; ``where`` names it in
    reports, e.g. ``ssh://core1/show version``."""

    where: str
    text: str

    def __str__(self) -> str:
        return self.where


Source = str | Path | CommandOutput


def _read(source: Source) -> str:
    if isinstance(source, CommandOutput):
        return source.text
    return Path(source).read_text(encoding="utf-8", errors="replace")


def _parsed_as(out: Output) -> bool:
    """Whether the command's own parser reads this output's format."""
    return out.spec.parser is not None and out.fmt in out.spec.parser_formats


def sniff_format(text: str) -> str:
    """``json``, ``xml`` or ``text``, from what the output holds (not from its name)."""
    head = text.lstrip()[:1]
    if head in ("{", "["):
        return "json"
    if head == "<":
        return "xml"
    return "text"


@dataclass(frozen=True)
class Output:
    """One command's output, ready to read: where it came from and how it is read."""

    spec: CommandSpec
    where: str
    text: str
    fmt: str
    filters: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    #: The command as written (a variant's own words: ``show startup-config``).
    words: tuple[str, ...] = ()


def _ignore(report: ParseReport, where: str, device: str, reason: str) -> None:
    report.skipped_files.append(where)
    report.ignored.append((where, reason))
    report.add(ParseIssue(where, f"{reason}; ignored", device=device, severity="warning"))


def _unknown(platform: str, written: str) -> str:
    return f"{written!r} is not a command read on {platform}"


def _outputs(
    platform: str,
    files: Mapping[str, Source],
    report: ParseReport,
    device: str,
    unread: list[str] | None = None,
) -> list[Output]:
    """Every command output in the files: a file named after its command, or a terminal
    session holding several; what cannot be read is reported with the reason."""
    found: list[Output] = []
    for name, source in sorted(files.items()):
        where = str(source)
        resolution = resolve_name(platform, Path(name).name)
        text = _read(source)
        if resolution.spec is None:
            session = split_session(text)
            if not session:
                _ignore(report, where, device, _unknown(platform, resolution.written))
                if unread is not None:
                    unread.append(text)
                continue
            for item in session:
                at = f"{where}:{item.line}"
                inner = resolve_name(platform, item.command)
                if inner.spec is None:
                    _ignore(report, at, device, _unknown(platform, item.command))
                    if unread is not None:
                        unread.append(item.output)
                    continue
                found.append(
                    Output(
                        inner.spec,
                        at,
                        item.output,
                        sniff_format(item.output),
                        inner.filters,
                        inner.args,
                        inner.words,
                    )
                )
            continue
        text = strip_echo(text)
        found.append(
            Output(
                resolution.spec,
                where,
                text,
                sniff_format(text),
                resolution.filters,
                resolution.args,
                resolution.words,
            )
        )
    return found


def select_outputs(
    platform: str,
    files: Mapping[str, Source],
    report: ParseReport,
    device: str,
    unread: list[str] | None = None,
) -> list[Output]:
    """The outputs to read: empty ones and formats a command is not read in are reported; of
    one command given twice the structured form wins (then the unfiltered, then the first);
    a brief form is dropped where its detailed form is present."""
    usable: list[Output] = []
    for out in _outputs(platform, files, report, device, unread):
        if not out.text.strip():
            _ignore(report, out.where, device, f"{out.spec.command!r}: the output is empty")
        elif out.fmt == "text" and not out.spec.reads_text:
            _ignore(
                report,
                out.where,
                device,
                f"{out.spec.command!r} is read on {platform} as JSON only: save it with | json",
            )
        elif out.fmt != "text" and out.spec.json is None and not _parsed_as(out):
            _ignore(
                report,
                out.where,
                device,
                f"{out.fmt.upper()} output of {out.spec.command!r} is not read on {platform}: "
                "save the text form",
            )
        else:
            usable.append(out)
    best_of: dict[tuple[CommandSpec, tuple[str, ...]], Output] = {}
    for out in usable:
        known = best_of.get((out.spec, out.args))
        if known is None or _preference(out) < _preference(known):
            best_of[(out.spec, out.args)] = out
    chosen = list(best_of.values())
    for out in usable:
        winner = best_of[(out.spec, out.args)]
        if winner is not out:
            _ignore(report, out.where, device, f"{out.spec.command!r} is read from {winner.where}")
    best: dict[str, int] = {}
    for out in chosen:
        if out.spec.group:
            best[out.spec.group] = max(best.get(out.spec.group, out.spec.rank), out.spec.rank)
    kept = [o for o in chosen if o.spec.group is None or o.spec.rank == best[o.spec.group]]
    for out in chosen:
        if out not in kept:
            report.skipped_files.append(out.where)
            report.ignored.append((out.where, f"the detailed form of {out.spec.group} is read"))
    return sorted(kept, key=lambda o: (_ORDER.get(o.spec.kinds[0], 1), o.where))


def _preference(out: Output) -> tuple[int, int]:
    return (0 if out.fmt != "text" else 1, 1 if out.filters else 0)
