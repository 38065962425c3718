"""Configuration text kept per device for the ``config`` rules, in the state directory.

Parsed facts reach the graph; the text they came from does not. This store keeps the latest
text of each device's configuration, bounded (a longer one is kept cut, one byte past the
limit, so that the reader knows it was cut), written atomically. File names are digests of
the device id: nothing a device calls itself becomes a path.

Beside each text a small record says when it was collected, from which snapshot and where it
came from (the command or file), so that a run can say when the text kept is older than the
device's last collection (a later snapshot covered the device without a configuration).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from meshq_graph_engine.compliance._config import MAX_BYTES

__all__ = ["ConfigStore"]


class ConfigStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, device: str) -> Path:
        return self.directory / (hashlib.sha256(device.encode()).hexdigest()[:40] + ".cfg")

    def _meta_path(self, device: str) -> Path:
        return self._path(device).with_suffix(".meta.json")

    def _write(self, path: Path, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".cfg-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put(
        self,
        device: str,
        text: str,
        *,
        collected_at: str | None = None,
        source: str = "",
        snapshot_id: str = "",
    ) -> bool:
        """Keep ``text`` as ``device``'s configuration, collected at ``collected_at`` (ISO
        8601); False when it is the one kept (its record is brought up to date all the same:
        the same text collected again is not old)."""
        data = text.encode("utf-8", "replace")[: MAX_BYTES + 1]
        path = self._path(device)
        try:
            changed = path.read_bytes() != data
        except FileNotFoundError:
            changed = True
        # the old record goes first: a text without one is of unknown age, never taken as new
        meta = {
            "device": device,
            "collected_at": collected_at,
            "source": source[:200],
            "snapshot_id": snapshot_id[:128],
            "bytes": len(data),
        }
        body = json.dumps(meta, sort_keys=True).encode()
        meta_path = self._meta_path(device)
        try:
            same = meta_path.read_bytes() == body
        except FileNotFoundError:
            same = False
        if changed:
            meta_path.unlink(missing_ok=True)
            self._write(path, data)
        if changed or not same:
            self._write(meta_path, body)
        return changed

    def meta(self, device: str) -> dict[str, Any] | None:
        """When and where the kept text was collected (None: no record is kept)."""
        try:
            found = json.loads(self._meta_path(device).read_bytes())
        except (FileNotFoundError, ValueError):
            return None
        return found if isinstance(found, dict) else None

    def read(self, device: str) -> str | None:
        try:
            return self._path(device).read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return None

    def remove(self, device: str) -> None:
        self._path(device).unlink(missing_ok=True)
        self._meta_path(device).unlink(missing_ok=True)
