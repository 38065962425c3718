"""The per-cluster inventory files: written whole, read again only when changed."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from network_discovery.k8s import (
    ClusterInventory,
    InventoryStore,
    K8sNode,
    K8sObjectError,
    default_directory,
)


def _inventory(cluster: str, *nodes: str) -> ClusterInventory:
    return ClusterInventory(
        cluster=cluster,
        collected_at=datetime(2026, 3, 1, tzinfo=UTC),
        source="file",
        nodes=tuple(K8sNode(name=n) for n in nodes),
    )


def test_save_then_load_every_cluster(tmp_path: Path) -> None:
    store = InventoryStore(tmp_path / "k8s")
    assert store.load() == []
    store.save(_inventory("prod", "a", "b"))
    store.save(_inventory("lab", "c"))
    assert [(i.cluster, len(i.nodes)) for i in store.load()] == [("lab", 1), ("prod", 2)]
    assert not list((tmp_path / "k8s").glob(".k8s-*"))  # no temporary left behind


def test_a_new_sync_replaces_the_cluster(tmp_path: Path) -> None:
    store = InventoryStore(tmp_path)
    store.save(_inventory("prod", "a", "b"))
    assert len(store.load()[0].nodes) == 2
    path = store.save(_inventory("prod", "a"))
    os.utime(path, ns=(1, 1))  # even with the clock standing still, the size changed
    assert len(store.load()[0].nodes) == 1
    path.unlink()
    assert store.load() == []


@pytest.mark.parametrize(
    "name", ["Prod", "../etc", "a b", "", "x" * 64], ids=["upper", "dots", "space", "empty", "long"]
)
def test_a_cluster_name_is_a_file_name_we_chose(tmp_path: Path, name: str) -> None:
    with pytest.raises(K8sObjectError, match="cluster name"):
        InventoryStore(tmp_path).save(_inventory(name))


def test_the_default_directory_is_under_the_data_directory(tmp_path: Path) -> None:
    assert default_directory({"MESHQ_DATA_DIR": str(tmp_path)}) == tmp_path / "k8s"
