"""The Kubernetes source against an API server built from the API's published schema
(``support.k8s_api``), through the product's own client (kubernetes_asyncio): paged lists,
watches that resume from bookmarks, 410 Gone answered by a fresh list, the CLI and the
in-cluster collector module end to end."""

from __future__ import annotations

import asyncio
import copy
import json
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from click.testing import CliRunner
from network_discovery.cli.main import cli
from network_discovery.k8s import ClusterInventory, InventoryStore
from network_discovery.k8s._api import ApiSource, open_api_client
from support.k8s_api import K8sApiServer, kubeconfig, running_api

HERE = Path(__file__).parent
CLUSTER = json.loads((HERE / "cluster.json").read_text())["items"]


async def _until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[K8sApiServer, Path]]:
    server = K8sApiServer(bookmark_every=0.1)
    for obj in CLUSTER:
        await server.put(obj)
    async with running_api(server) as url:
        yield server, kubeconfig(tmp_path / "kubeconfig", url, server.token)


def _watches(server: K8sApiServer, plural: str) -> list[dict[str, list[str]]]:
    return [
        parse_qs(query)
        for method, path, query in server.requests
        if path.endswith(f"/{plural}") and "watch=" in query.lower()
    ]


async def test_a_paged_list_reads_every_object(api: tuple[K8sApiServer, Path]) -> None:
    server, config = api
    async with await open_api_client(kubeconfig=config) as client:
        inventory = await ApiSource(client, "lab", page_size=2).list_all()
    assert [n.name for n in inventory.nodes] == [
        "k8s-node-1",
        "k8s-node-2",
        "k8s-node-3",
        "k8s-node-5",
        "node-4",
    ]
    assert len(inventory.pods) == 5
    web = next(s for s in inventory.services if s.name == "web")
    assert [(e.ip, e.node, e.ready) for e in web.endpoints] == [
        ("10.244.1.10", "k8s-node-1", True),
        ("10.244.2.10", "k8s-node-2", False),
    ]
    node_lists = [q for m, p, q in server.requests if p == "/api/v1/nodes"]
    assert len(node_lists) == 3 and all("limit=2" in q for q in node_lists)
    assert "continue=" in node_lists[1]
    assert inventory.resource_versions["Node"] == str(server.version)


async def test_the_token_is_required(api: tuple[K8sApiServer, Path], tmp_path: Path) -> None:
    _, config = api
    wrong = kubeconfig(tmp_path / "wrong", _url(config), "not-the-token")
    async with await open_api_client(kubeconfig=wrong) as client:
        from kubernetes_asyncio.client.exceptions import ApiException

        with pytest.raises(ApiException) as raised:
            await ApiSource(client, "lab").list_all()
    assert raised.value.status == 401


def _url(config: Path) -> str:
    import yaml

    return str(yaml.safe_load(config.read_text())["clusters"][0]["cluster"]["server"])


async def test_changes_arrive_by_watch_and_bookmarks_move_the_version(
    api: tuple[K8sApiServer, Path],
) -> None:
    server, config = api
    saved: list[ClusterInventory] = []
    stop = asyncio.Event()
    async with await open_api_client(kubeconfig=config) as client:
        source = ApiSource(client, "lab", watch_timeout=1)
        await source.list_all()
        task = asyncio.create_task(source.follow(saved.append, stop, settle=0.05))
        await _until(lambda: len(_watches(server, "pods")) >= 1, "the pod watch")
        new = {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {"name": "web-7d9f-zzzzz", "namespace": "shop", "labels": {"app": "web"}},
            "spec": {"nodeName": "k8s-node-2", "containers": [{"name": "main", "image": "x"}]},
            "status": {"phase": "Pending"},
        }
        await server.put(new)
        pod_version = server.version
        await _until(
            lambda: bool(saved) and any(p.name == "web-7d9f-zzzzz" for p in saved[-1].pods),
            "the new pod",
        )
        await server.delete("Pod", "db-0", "shop")
        await _until(lambda: all(p.name != "db-0" for p in saved[-1].pods), "the deletion")
        # the node watch saw no node change, yet resumes past the pod's version: a bookmark
        await _until(
            lambda: any(
                int(q.get("resourceVersion", ["0"])[0]) >= pod_version
                for q in _watches(server, "nodes")
            ),
            "a node watch resumed from a bookmark",
        )
        assert all(
            [v.lower() for v in q.get("allowWatchBookmarks", [])] == ["true"]
            for q in _watches(server, "nodes")
        )
        stop.set()
        await task
    assert source.lists == {"Node": 1, "Pod": 1, "Service": 1, "EndpointSlice": 1}


async def test_410_gone_lists_again(api: tuple[K8sApiServer, Path]) -> None:
    server, config = api
    saved: list[ClusterInventory] = []
    stop = asyncio.Event()
    async with await open_api_client(kubeconfig=config) as client:
        source = ApiSource(client, "lab", watch_timeout=1)
        await source.list_all()
        # while nobody watched, a node went and the server forgot the events since the list
        await server.delete("Node", "k8s-node-5")
        server.compact()
        task = asyncio.create_task(source.follow(saved.append, stop, settle=0.05))
        await _until(lambda: source.lists["Node"] == 2, "a fresh node list")
        await _until(
            lambda: bool(saved) and "k8s-node-5" not in {n.name for n in saved[-1].nodes},
            "the inventory without the deleted node",
        )
        stop.set()
        await task


async def test_the_cli_syncs_from_the_api(api: tuple[K8sApiServer, Path], tmp_path: Path) -> None:
    _, config = api
    args = ["k8s", "sync", "--cluster", "lab", "--kubeconfig", str(config)]
    # the CLI runs its own event loop: in a thread, beside the server's
    result = await asyncio.to_thread(CliRunner().invoke, cli, [*args, "--directory", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "cluster lab: 5 nodes, 5 pods, 2 services (3 endpoints)" in result.output
    [stored] = InventoryStore(tmp_path).load()
    assert stored.source == "api" and len(stored.nodes) == 5


def test_the_cli_reads_kubectl_files(tmp_path: Path) -> None:
    fixtures = HERE.parents[1] / "fixtures" / "k8s"
    files = sorted(str(p) for p in fixtures.glob("*.json"))
    result = CliRunner().invoke(
        cli, ["k8s", "sync", "--cluster", "captures", "--directory", str(tmp_path), *files]
    )
    assert result.exit_code == 0, result.output
    [stored] = InventoryStore(tmp_path).load()
    assert (len(stored.nodes), len(stored.pods), len(stored.services)) == (2, 2, 2)


def test_the_cli_says_what_is_wrong(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "List", "items": [{"kind": "Pod", "metadata": {}}]}')
    result = CliRunner().invoke(cli, ["k8s", "sync", "--cluster", "lab", str(bad)])
    assert result.exit_code == 1
    assert "Pod.metadata.name: missing" in result.output


async def test_the_collector_module_follows_the_cluster(
    api: tuple[K8sApiServer, Path], tmp_path: Path
) -> None:
    """``python -m network_discovery.k8s --watch``, what the chart runs beside the graph
    engine: the inventory is written, rewritten after a change, and SIGTERM ends it cleanly."""
    server, config = api
    out = tmp_path / "inventories"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "network_discovery.k8s",
        "--cluster",
        "lab",
        "--kubeconfig",
        str(config),
        "--watch",
        "--directory",
        str(out),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        store = InventoryStore(out)

        def pods() -> int:
            return len(store.load()[0].pods) if (out / "lab.json").exists() else -1

        await _until(lambda: pods() == 5, "the first inventory", timeout=30)
        pod = copy.deepcopy(next(o for o in CLUSTER if o["kind"] == "Pod"))
        pod["metadata"] = {**pod["metadata"], "name": "late-pod", "uid": "late-pod-uid"}
        pod["metadata"].pop("resourceVersion", None)
        await server.put(pod)
        await _until(lambda: pods() == 6, "the new pod in the inventory", timeout=30)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, stderr.decode()
    lines = stdout.decode().splitlines()  # the inventory lines only: logs go to stderr
    assert '"event": "k8s.listed"' in stderr.decode()
    assert lines[0].startswith("cluster lab: 5 nodes, 5 pods, 2 services")
    assert any("6 pods" in line for line in lines[1:])


async def test_the_collector_module_says_what_is_wrong(
    api: tuple[K8sApiServer, Path], tmp_path: Path
) -> None:
    _, config = api
    wrong = kubeconfig(tmp_path / "wrong", _url(config), "not-the-token")
    for args, message in (
        (["--cluster", "lab", "--kubeconfig", str(wrong)], "k8s: Kubernetes API: 401"),
        (["--cluster", "Not A Name", "--kubeconfig", str(config)], "k8s: cluster name"),
    ):
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "network_discovery.k8s",
            *args,
            "--directory",
            str(tmp_path / "out"),
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
        assert proc.returncode == 1
        assert stderr.decode().strip().splitlines()[-1].startswith(message), stderr.decode()
    assert not (tmp_path / "out" / "lab.json").exists()
