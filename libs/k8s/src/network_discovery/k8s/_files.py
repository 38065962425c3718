"""``kubectl get nodes,pods,services,endpointslices -o json`` files, for sites the collector
cannot reach: a ``List`` (or ``NodeList``, ``PodList``, …) of API objects, or one object.

A file is read whole but never beyond ``MAX_FILE_BYTES``; a list holds at most
``MAX_OBJECTS`` objects over all files; an object of a kind not read (a ConfigMap in the
same dump) is skipped and counted, never guessed at.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from network_discovery.k8s._model import KINDS, ClusterInventory, K8sObjectError, build_inventory

__all__ = ["MAX_FILE_BYTES", "MAX_OBJECTS", "FileRead", "read_files"]

MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_OBJECTS = 500_000


@dataclass(frozen=True)
class FileRead:
    inventory: ClusterInventory
    #: Objects of other kinds in the files, by kind (skipped).
    skipped: dict[str, int]


def _objects(document: Any, where: str) -> list[Mapping[str, Any]]:
    if not isinstance(document, Mapping):
        raise K8sObjectError(f"{where}: expected a JSON object (kubectl … -o json)")
    kind = document.get("kind")
    if isinstance(kind, str) and (kind == "List" or kind.endswith("List")):
        items = document.get("items")
        if not isinstance(items, list):
            raise K8sObjectError(f"{where}: a {kind} without items")
        item_kind = kind[: -len("List")] if kind != "List" else None
        found = []
        for i, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise K8sObjectError(f"{where}: items[{i}] is not an object")
            # a typed list (PodList from the API) leaves kind out of its items
            found.append(item if item.get("kind") or not item_kind else {**item, "kind": item_kind})
        return found
    return [document]


def read_files(paths: Iterable[Path], *, cluster: str) -> FileRead:
    """The inventory of one cluster from ``kubectl … -o json`` files."""
    objects: list[Mapping[str, Any]] = []
    skipped: dict[str, int] = {}
    for path in paths:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise K8sObjectError(f"{path}: {size} bytes, more than the {MAX_FILE_BYTES} read")
        try:
            document = json.loads(path.read_bytes())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise K8sObjectError(f"{path}: not JSON ({exc}); use kubectl get … -o json") from None
        for obj in _objects(document, str(path)):
            kind = obj.get("kind")
            if kind not in KINDS:
                skipped[str(kind)[:40]] = skipped.get(str(kind)[:40], 0) + 1
                continue
            objects.append(obj)
            if len(objects) > MAX_OBJECTS:
                raise K8sObjectError(f"more than {MAX_OBJECTS} objects in the files")
    try:
        inventory = build_inventory(cluster, objects, source="file")
    except K8sObjectError:
        raise
    return FileRead(inventory, skipped)
