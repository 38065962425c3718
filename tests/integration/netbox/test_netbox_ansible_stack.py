"""NetBox sync and the Ansible inventory as users run them, against a real graph engine and
gateway on the demo network (the commands reach it through the REST API only): ``meshq sync``
to a fake NetBox over HTTP, ``GET /inventory/ansible`` with the gate on and off, ``meshq
export`` and the inventory script read by the real ansible-inventory."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from network_discovery.cli.main import cli
from support.ansible_run import ansible_inventory, graph_groups, listing
from support.demo_stack import DemoStack, demo_stack
from support.netbox_fake import FakeNetBox, running_netbox
from support.procs import ServiceProc, free_port, wait_for

pytestmark = pytest.mark.integration

TOKEN = "fedcba9876543210fedcba9876543210fedcba98"


@dataclass
class Running:
    demo: DemoStack
    key: str
    community: ServiceProc  # a second gateway on the same graph, Community plan

    def env(self, url: str | None = None) -> dict[str, str]:
        return {
            "MESHOPTIXIQ_API_URL": url or self.demo.gateway.url,
            "MESHOPTIXIQ_API_KEY": self.key,
            "MESHQ_DATA_DIR": self.demo.env["MESHQ_DATA_DIR"],
            "MESHQ_NO_LICENSE_WARNING": "1",
        }

    def get(self, path: str, url: str | None = None) -> httpx.Response:
        return httpx.get(
            (url or self.demo.gateway.url) + path, headers={"X-API-Key": self.key}, timeout=60
        )


@pytest.fixture(scope="module")
def running(stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("netbox-stack")
    key = secrets.token_urlsafe(24)
    with demo_stack(
        stack,
        tmp,
        MESHQ_LICENSING_URL="http://127.0.0.1:9",
        MESHOPTIXIQ_DEMO_MODE="true",
        API_KEY=key,
    ) as demo:
        port = free_port()
        env = {
            **demo.env,
            "MESHQ_GRAPH_ENGINE_URL": demo.graph.url,
            "API_KEY": key,
            "MESHQ_GATEWAY_PORT": str(port),
            "MESHOPTIXIQ_DEMO_MODE": "false",
        }
        community = ServiceProc(
            module="meshq_query_gateway", port=port, env=env, log_path=tmp / "community-gateway.log"
        ).start()
        try:
            community.wait_healthy()
            yield Running(demo, key, community)
        finally:
            community.stop()


@pytest.fixture
def netbox() -> Iterator[FakeNetBox]:
    with running_netbox(TOKEN) as fake:
        yield fake
        assert fake.violations == []


def meshq(args: list[str], env: dict[str, str]) -> Any:
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


# --- GET /inventory/ansible ---------------------------------------------------------------


def test_inventory_endpoint_gate_on_and_off(running: Running) -> None:
    answer = running.get("/inventory/ansible")
    assert answer.status_code == 200, answer.text
    inventory = answer.json()
    hosts = inventory["_meta"]["hostvars"]
    assert len(hosts) == 31 and inventory["meshoptixiq"]["hosts"] == sorted(hosts)
    assert hosts["hq-core-01"]["ansible_host"] == "10.255.0.1"
    assert hosts["hq-core-01"]["ansible_network_os"] == "cisco.nxos.nxos"
    assert "hq-core-01" in inventory["role_core"]["hosts"]
    assert "hq-core-01" in inventory["site_hq"]["hosts"]
    assert inventory["firewalls"]["hosts"], "the demo network has firewalls"
    ini = running.get("/inventory/ansible?format=ini")
    assert ini.status_code == 200 and ini.headers["content-type"].startswith("text/plain")
    assert ini.text.startswith("# Ansible inventory from MeshOptixIQ\n[meshoptixiq]\n")
    bad = running.get("/inventory/ansible?format=xml")
    assert bad.status_code == 400 and "format" in bad.text

    refused = running.get("/inventory/ansible", url=running.community.url)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["feature"] == "api_access" and refused.json()["plan"] == "community"


# --- the inventory script and meshq export, read by ansible-inventory ------------------------


def test_ansible_reads_the_script_and_the_exported_files(running: Running, tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "meshq-ansible-inventory"
    from_script = listing(script, tmp_path, env=running.env())
    assert len(from_script["_meta"]["hostvars"]) == 31
    drawn = graph_groups(ansible_inventory(script, "--graph", tmp=tmp_path, env=running.env()))
    assert drawn["firewalls"] == sorted(from_script["firewalls"]["hosts"])

    for name in ("meshoptixiq.ini", "meshoptixiq.json"):
        out = tmp_path / "inv" / name
        out.parent.mkdir(exist_ok=True)
        result = meshq(["export", "--format", "ansible", "--output", str(out)], running.env())
        assert result.exit_code == 0, result.output
        assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []
    from_ini = listing(tmp_path / "inv" / "meshoptixiq.ini", tmp_path)
    assert from_ini["_meta"]["hostvars"] == from_script["_meta"]["hostvars"]
    for group in ("firewalls", "role_core", "site_hq", "vendor_cisco", "meshoptixiq"):
        assert sorted(from_ini[group]["hosts"]) == sorted(from_script[group]["hosts"]), group


def test_export_refuses_what_it_cannot_write(running: Running, tmp_path: Path) -> None:
    for target, message in (
        (tmp_path, "is a directory"),
        (tmp_path / "missing" / "inv.json", "does not exist"),
        (Path("/proc/meshoptixiq.json"), "cannot write /proc/meshoptixiq.json"),
    ):
        result = CliRunner().invoke(
            cli, ["export", "--format", "ansible", "--output", str(target)], env=running.env()
        )
        assert result.exit_code == 1 and message in result.stderr, result.output
        assert len(result.stderr.strip().splitlines()) == 1


# --- meshq sync --target netbox --------------------------------------------------------------


def _seed(netbox: FakeNetBox) -> None:
    site = netbox.add("dcim/sites", name="Headquarters", slug="headquarters", status="active")
    tenant = netbox.add("tenancy/tenants", name="Corp IT", slug="corp-it")
    rack = netbox.add("dcim/racks", name="HQ-R01", site=site["id"], status="active")
    maker = netbox.add("dcim/manufacturers", name="Cisco", slug="cisco")
    dtype = netbox.add(
        "dcim/device-types",
        manufacturer=maker["id"],
        model="N9K-C93180YC-FX",
        slug="n9k-c93180yc-fx",
    )
    role = netbox.add("dcim/device-roles", name="Core", slug="core")
    netbox.add(
        "dcim/devices",
        name="hq-core-01",
        device_type=dtype["id"],
        role=role["id"],
        site=site["id"],
        tenant=tenant["id"],
        rack=rack["id"],
        status="active",
    )


def _device(running: Running, name: str) -> dict[str, Any]:
    return next(r for r in _devices(running) if r["device"] == name)


def _devices(running: Running) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = httpx.post(
        running.demo.gateway.url + "/queries/all_devices",
        json={},
        headers={"X-API-Key": running.key},
        timeout=60,
    ).json()["rows"]
    return rows


def test_meshq_sync_pull_then_push(running: Running, netbox: FakeNetBox) -> None:
    _seed(netbox)
    env = {**running.env(), "NETBOX_URL": netbox.base_url, "NETBOX_TOKEN": TOKEN}

    dry = meshq(["sync", "--target", "netbox", "--direction", "pull", "--dry-run"], env)
    assert dry.exit_code == 0, dry.output
    assert "dry run: nothing was changed" in dry.stdout
    assert "pull stamp device metadata hq-core-01 (site: 'hq' -> 'Headquarters'" in dry.stdout

    pulled = meshq(["sync", "--target", "netbox"], env)  # pull is the default
    assert pulled.exit_code == 0, pulled.output
    assert netbox.writes() == [], "a pull never writes to NetBox"
    stamped = wait_for(
        lambda: (d := _device(running, "hq-core-01"))["site"] == "Headquarters" and d,
        timeout=60,
        what="the NetBox site on hq-core-01",
    )
    assert (stamped["tenant"], stamped["rack"], stamped["role"]) == ("Corp IT", "HQ-R01", "core")

    before = netbox.store.dump()
    planned = meshq(["sync", "--target", "netbox", "--direction", "push", "--dry-run"], env)
    assert planned.exit_code == 0, planned.output
    assert netbox.store.dump() == before and netbox.writes() == []
    pushed = meshq(["sync", "--target", "netbox", "--direction", "push"], env)
    assert pushed.exit_code == 0, pushed.output
    assert len(netbox.store.objects["dcim/devices"]) == 31
    assert len(netbox.store.objects["dcim/interfaces"]) > 500
    # The next pull records what the push made (NetBox ids, platforms) and writes nothing.
    netbox.log.clear()
    recorded = meshq(["sync", "--target", "netbox", "--direction", "both"], env)
    assert recorded.exit_code == 0, recorded.output
    assert netbox.writes() == []
    wait_for(
        lambda: all(d["netbox_platform_slug"] for d in _devices(running) if d["platform"]),
        timeout=60,
        what="NetBox's platforms recorded on the graph's devices",
    )
    again = meshq(["sync", "--target", "netbox", "--direction", "both"], env)
    assert again.exit_code == 0, again.output
    assert "nothing to change: NetBox and the graph agree" in again.stdout


def test_meshq_sync_needs_netbox_settings_and_the_plan(
    running: Running, netbox: FakeNetBox
) -> None:
    missing = CliRunner().invoke(
        cli,
        ["sync", "--target", "netbox"],
        env={**running.env(), "NETBOX_URL": "", "NETBOX_TOKEN": ""},
    )
    assert missing.exit_code == 1
    assert missing.stderr.strip() == (
        "meshq: set NETBOX_URL (https://netbox.example.com) and NETBOX_TOKEN"
    )
    env = {
        **running.env(running.community.url),
        "NETBOX_URL": netbox.base_url,
        "NETBOX_TOKEN": TOKEN,
    }
    refused = CliRunner().invoke(cli, ["sync", "--target", "netbox", "--dry-run"], env=env)
    assert refused.exit_code == 1 and "403" in refused.stderr, refused.output
    bad_token = CliRunner().invoke(
        cli,
        ["sync", "--target", "netbox", "--dry-run"],
        env={**running.env(), "NETBOX_URL": netbox.base_url, "NETBOX_TOKEN": "wrong"},
    )
    assert bad_token.exit_code == 1 and "check NETBOX_TOKEN" in bad_token.stderr


def test_meshq_sync_push_fills_reports_drift_and_survives_lost_answers(
    running: Running, netbox: FakeNetBox
) -> None:
    _seed(netbox)
    core = netbox.store.find("dcim/devices", name="hq-core-01")[0]
    core["serial"] = "ADMIN-ENTERED"
    env = {
        **running.env(),
        "NETBOX_URL": netbox.base_url,
        "NETBOX_TOKEN": TOKEN,
        "NETBOX_TIMEOUT": "20",
    }
    # every interface batch is committed by NetBox and answered by a proxy's 502
    netbox.inject(502, method="POST", path="/api/dcim/interfaces/", after=True, count=100)
    pushed = meshq(["sync", "--target", "netbox", "--direction", "push"], env)
    assert pushed.exit_code == 0, pushed.output
    assert (
        "drift: device hq-core-01: serial: NetBox has 'ADMIN-ENTERED', discovery 'FDO24110K1A'; "
        "NetBox's kept (--overwrite serial replaces it)" in pushed.stderr
    )
    assert "note: NetBox gave no clear answer to" in pushed.stdout
    names = [(i["device"], i["name"]) for i in netbox.store.objects["dcim/interfaces"].values()]
    assert len(names) == len(set(names)) > 500, "each interface created once"
    assert netbox.store.objects["dcim/devices"][core["id"]]["serial"] == "ADMIN-ENTERED"

    over = meshq(
        ["sync", "--target", "netbox", "--direction", "push", "--overwrite", "serial"], env
    )
    assert over.exit_code == 0, over.output
    assert "overwritten (--overwrite)" in over.stderr
    assert netbox.store.objects["dcim/devices"][core["id"]]["serial"] == "FDO24110K1A"
    again = meshq(["sync", "--target", "netbox", "--direction", "push"], env)
    assert again.exit_code == 0 and "nothing to change" in again.stdout, again.output
    assert "drift:" not in again.stderr
