"""Advisory files: which format a document is, and the records of a file or a directory.

A file is JSON (``.json``), or gzip'd JSON (``.json.gz``, as NVD and CSAF mirrors keep
them), of at most ``MAX_FILE_BYTES`` once read. A directory is read for those files, in name
order, down to ``MAX_DEPTH`` levels, at most ``MAX_FILES`` of them. Records that name no
software family known here (IOS, IOS XE, NX-OS, EOS, Junos) are counted and left out.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from network_discovery.vuln.csaf import is_csaf, read_csaf
from network_discovery.vuln.cve5 import is_cve5, read_cve5
from network_discovery.vuln.model import Advisory
from network_discovery.vuln.nvd import is_nvd, read_nvd

__all__ = [
    "MAX_FILES",
    "MAX_FILE_BYTES",
    "FileError",
    "ReadReport",
    "read_data",
    "read_document",
    "read_path",
]

MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_FILES = 100_000
MAX_DEPTH = 8


class FileError(ValueError):
    """A file that cannot be read as an advisory, with the path at fault."""


def read_document(doc: Any) -> list[Advisory]:
    """The records of one decoded JSON document, whatever of the three formats it is."""
    if is_csaf(doc):
        return read_csaf(doc)
    if is_cve5(doc):
        return read_cve5(doc)
    if is_nvd(doc):
        return read_nvd(doc)
    raise ValueError("not CSAF 2.0, NVD CVE API 2.0 or CVE JSON 5")


def _read_bytes(path: Path) -> bytes:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise FileError(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB")
    if path.name.endswith(".gz"):
        with gzip.open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise FileError(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB decompressed")
        return data
    return path.read_bytes()


def read_file(path: Path) -> list[Advisory]:
    try:
        data = _read_bytes(path)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise FileError(f"{path}: {exc}") from None
    return read_data(data, str(path))


def read_data(data: bytes, name: str) -> list[Advisory]:
    """The records of one advisory file's (decompressed) bytes; ``name`` says where it came
    from in a ``FileError``."""
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FileError(f"{name}: not JSON ({exc})"[:500]) from None
    try:
        return read_document(doc)
    except ValueError as exc:  # pydantic's ValidationError is one
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FileError(f"{name}: {message}"[:500]) from None


def _files(root: Path) -> Iterator[Path]:
    count = 0

    def walk(folder: Path, depth: int) -> Iterator[Path]:
        nonlocal count
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.is_dir() and not entry.is_symlink() and depth < MAX_DEPTH:
                yield from walk(entry, depth + 1)
            elif entry.is_file() and entry.name.endswith((".json", ".json.gz")):
                count += 1
                if count > MAX_FILES:
                    raise FileError(f"{root}: more than {MAX_FILES} advisory files")
                yield entry

    yield from walk(root, 0)


@dataclass
class ReadReport:
    files: int = 0
    records: list[Advisory] = field(default_factory=list)
    #: Records naming no family known here.
    skipped: int = 0
    #: "path: why" for each file that could not be read (the others are still read).
    errors: list[str] = field(default_factory=list)


def read_path(path: Path, *, strict: bool = False) -> ReadReport:
    """The records of a file, or of every advisory file under a directory. A file that
    cannot be read is an error in the report (``strict``: raised)."""
    report = ReadReport()
    if not path.exists():
        raise FileError(f"{path}: no such file or directory")
    paths = [path] if path.is_file() else list(_files(path))
    for file in paths:
        report.files += 1
        try:
            records = read_file(file)
        except FileError as exc:
            if strict or path.is_file():
                raise
            report.errors.append(str(exc)[:500])
            continue
        for record in records:
            if record.affected:
                report.records.append(record)
            else:
                report.skipped += 1
    return report
