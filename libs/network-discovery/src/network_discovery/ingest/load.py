"""Read what ``meshq ingest`` is given: a native snapshot file, or a directory of CLI output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from network_discovery.model import Snapshot

__all__ = ["IngestInputError", "load_path", "load_snapshot_file"]


class IngestInputError(ValueError):
    """Input that cannot become a snapshot; the message says what to fix."""


def load_snapshot_file(path: Path) -> Snapshot:
    try:
        text = path.read_text()
    except OSError as exc:
        raise IngestInputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        data: Any = yaml.safe_load(text) if path.suffix in {".yaml", ".yml"} else json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise IngestInputError(
            f"{path} is not valid {path.suffix.lstrip('.') or 'JSON'}: {exc}"
        ) from exc
    try:
        return Snapshot.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(document)"
        raise IngestInputError(
            f"{path}: not a valid snapshot ({exc.error_count()} errors; first at {where}: "
            f"{first['msg']})"
        ) from exc


def load_path(path: Path) -> tuple[Snapshot, list[str]]:
    """The snapshot at ``path`` and any parse problems worth reporting (the rest went on)."""
    if not path.exists():
        raise IngestInputError(f"{path} does not exist")
    if path.is_file():
        return load_snapshot_file(path), []
    try:
        from network_discovery.parsers import parse_directory
    except ImportError as exc:  # pragma: no cover - the parsers ship with this package
        raise IngestInputError("this installation cannot parse CLI output directories") from exc
    snapshot, report = parse_directory(path)
    return snapshot, [str(problem) for problem in getattr(report, "problems", [])]
