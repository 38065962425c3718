"""Where each cluster's inventory is kept: one JSON document per cluster in a directory
(``$MESHQ_DATA_DIR/k8s``, the graph engine's data directory), written whole and atomically
(a temporary file renamed over the old one), so a reader sees the last complete inventory.

A reader keeps what it read and reads a file again only when its modification time or size
changed: the queries ask for every answer, the files change when a sync writes them.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from network_discovery.k8s._model import ClusterInventory, K8sObjectError

__all__ = ["CLUSTER_NAME", "MAX_INVENTORY_BYTES", "InventoryStore", "default_directory"]

CLUSTER_NAME = re.compile(r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$")
MAX_INVENTORY_BYTES = 512 * 1024 * 1024


def default_directory(env: Mapping[str, str] | None = None) -> Path:
    """``$MESHQ_DATA_DIR/k8s`` (``~/.meshoptixiq/data/k8s``), where the graph engine reads."""
    env = os.environ if env is None else env
    base = env.get("MESHQ_DATA_DIR") or str(Path.home() / ".meshoptixiq" / "data")
    return Path(base) / "k8s"


def check_cluster(name: str) -> str:
    if not CLUSTER_NAME.match(name):
        raise K8sObjectError(
            f"cluster name {name[:70]!r}: use lower-case letters, digits, '.', '_' and '-' "
            "(at most 63)"
        )
    return name


class InventoryStore:
    """The clusters' inventories in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._read: dict[str, tuple[tuple[int, int], ClusterInventory]] = {}

    def _path(self, cluster: str) -> Path:
        return self.directory / f"{check_cluster(cluster)}.json"

    def save(self, inventory: ClusterInventory) -> Path:
        path = self._path(inventory.cluster)
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".k8s-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(inventory.model_dump_json().encode())
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return path

    def load(self) -> list[ClusterInventory]:
        """Every cluster's inventory, by cluster name."""
        if not self.directory.is_dir():
            return []
        found: list[ClusterInventory] = []
        seen: set[str] = set()
        for path in sorted(self.directory.glob("*.json")):
            cluster = path.stem
            if not CLUSTER_NAME.match(cluster):
                continue
            stat = path.stat()
            mark = (stat.st_mtime_ns, stat.st_size)
            kept = self._read.get(cluster)
            if kept is None or kept[0] != mark:
                if stat.st_size > MAX_INVENTORY_BYTES:
                    raise K8sObjectError(f"{path}: larger than {MAX_INVENTORY_BYTES} bytes")
                inventory = ClusterInventory.model_validate_json(path.read_bytes())
                kept = self._read[cluster] = (mark, inventory)
            found.append(kept[1])
            seen.add(cluster)
        for gone in set(self._read) - seen:
            del self._read[gone]
        return found
