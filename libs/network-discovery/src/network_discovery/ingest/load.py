"""Read what ``meshq ingest`` is given: a native snapshot file, or a directory of CLI output."""

from __future__ import annotations

from pathlib import Path

from network_discovery.model import Snapshot
from network_discovery.parsers import ParseReport, load_snapshot_file, parse_directory

__all__ = ["IngestInputError", "load_path", "read_path"]


class IngestInputError(ValueError):
    """Input that cannot become a snapshot; the message says what to fix."""


def read_path(path: Path) -> tuple[Snapshot, ParseReport | None]:
    """The snapshot at ``path`` and, for a directory of CLI output, the parse report (what
    was read, ignored and why, and what each device contributed)."""
    if not path.exists():
        raise IngestInputError(f"{path} does not exist")
    if path.is_file():
        try:
            return load_snapshot_file(path), None
        except ValueError as exc:
            raise IngestInputError(str(exc)) from exc
    snapshot, report = parse_directory(path)
    if not snapshot.scope:
        problems = "; ".join(str(i) for i in report.issues[:3]) or "no device folders found"
        raise IngestInputError(f"{path}: nothing could be parsed ({problems})")
    return snapshot, report


def load_path(path: Path) -> tuple[Snapshot, list[str]]:
    """The snapshot at ``path`` and the parse problems worth reporting (the rest went on)."""
    snapshot, report = read_path(path)
    return snapshot, [str(issue) for issue in report.issues] if report else []
