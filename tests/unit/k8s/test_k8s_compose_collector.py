"""compose.yaml's Kubernetes collector (profile ``k8s``): the graph engine's image running
``python -m network_discovery.k8s`` with arguments its parser takes, writing into the volume
graph-engine reads its inventories from, and off unless the profile is asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from network_discovery.k8s.__main__ import _parser

ROOT = Path(__file__).resolve().parents[3]
DATA_DIR = "/var/lib/meshq"  # the image's MESHQ_DATA_DIR (deploy/Dockerfile)


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    out: dict[str, Any] = doc["services"]
    return out


def _mounts(service: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Target -> (source, mode) of the short-syntax volumes."""
    out = {}
    for entry in service.get("volumes") or []:
        mode = entry.rsplit(":", 1)[1]
        if mode in ("ro", "rw"):
            source, target, _ = entry.rsplit(":", 2)
        else:
            (source, target), mode = entry.rsplit(":", 1), "rw"
        out[target] = (source, mode)
    return out


def test_the_collector_writes_where_the_graph_engine_reads(services) -> None:
    collector, engine = services["k8s-collector"], services["graph-engine"]
    assert collector["profiles"] == ["k8s"]  # docker compose up starts it only when asked
    assert collector["image"] == engine["image"]
    assert "build" not in collector  # graph-engine's build makes the image
    command = collector["command"]
    assert command[:3] == ["python", "-m", "network_discovery.k8s"]
    args = _parser().parse_args(command[3:])
    assert args.watch and not args.in_cluster
    inventories = f"{DATA_DIR}/k8s"
    assert str(args.directory) == inventories
    theirs, ours = _mounts(engine), _mounts(collector)
    assert theirs[inventories] == ("k8s-inventories", "ro")
    assert ours[inventories] == ("k8s-inventories", "rw")
    assert ours[str(args.kubeconfig)][1] == "ro"
    # the image makes the directory the meshq user's, so the fresh volume is writable
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    assert f"install -d -o meshq -g meshq -m 0700 {DATA_DIR} {inventories}" in dockerfile
    check = " ".join(collector["healthcheck"]["test"])
    assert inventories in check
