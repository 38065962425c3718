"""The per-platform coverage matrix of ``docs/ingest-cli-output.md``, generated from the command
tables so that the document cannot drift from what the parsers read.

``python -m network_discovery.parsers.coverage`` prints it; ``--write DOC`` replaces the part
of DOC between the ``coverage-matrix`` markers; ``--check DOC`` exits 1 when DOC is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from network_discovery.parsers._commands import COMMANDS
from network_discovery.parsers._spec import CommandSpec

__all__ = ["BEGIN", "END", "coverage_matrix", "main", "replace_matrix"]

BEGIN = "<!-- coverage-matrix:begin (generated: python -m network_discovery.parsers.coverage) -->"
END = "<!-- coverage-matrix:end -->"
#: Platforms whose XML output (``| display xml``, ``| xml``) is read through the JSON adapter.
_XML = frozenset({"juniper_junos", "cisco_nxos"})
_TITLES = {
    "cisco_ios": "Cisco IOS / IOS-XE (`cisco_ios`)",
    "cisco_nxos": "Cisco NX-OS (`cisco_nxos`)",
    "arista_eos": "Arista EOS (`arista_eos`)",
    "juniper_junos": "Juniper Junos (`juniper_junos`)",
    "cisco_asa": "Cisco ASA (`cisco_asa`)",
    "linux": "Linux (`linux`)",
}


def _mark(ok: bool) -> str:
    return "yes" if ok else "—"


def _row(platform: str, spec: CommandSpec) -> str:
    names = "<br>".join(f"`{n}`" for n in spec.names).replace("|", "\\|")
    kinds = ", ".join(k.value for k in spec.kinds)
    structured = spec.json is not None
    how = spec.template.name if spec.template else (spec.parser.__name__ if spec.parser else "")
    return (
        f"| {names} | {_mark(spec.reads_text)} | {_mark(structured)} "
        f"| {_mark(structured and platform in _XML)} | {kinds} | {how or '—'} |"
    )


def coverage_matrix() -> str:
    """Markdown: per platform, every command read, in which formats, and the facts it yields."""
    parts: list[str] = []
    for platform, specs in COMMANDS.items():
        parts.append(f"#### {_TITLES.get(platform, platform)}\n")
        parts.append(
            "| command (and forms that print the same) | text | JSON | XML | facts | read by |"
        )
        parts.append("|---|---|---|---|---|---|")
        parts.extend(_row(platform, spec) for spec in specs)
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def replace_matrix(document: str) -> str:
    """``document`` with the generated matrix between its markers."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the document has no {BEGIN!r} ... {END!r} section")
    return document[: start + len(BEGIN)] + "\n\n" + coverage_matrix() + "\n" + document[end:]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] in ("--write", "--check"):
        doc = Path(args[1])
        current = doc.read_text(encoding="utf-8")
        fresh = replace_matrix(current)
        if args[0] == "--write":
            doc.write_text(fresh, encoding="utf-8")
            return 0
        if fresh != current:
            print(f"{doc}: the coverage matrix is stale; run --write {doc}", file=sys.stderr)
            return 1
        return 0
    if args:
        print("usage: python -m network_discovery.parsers.coverage [--write|--check DOC]")
        return 2
    sys.stdout.write(coverage_matrix())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
