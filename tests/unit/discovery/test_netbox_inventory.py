"""NetBox as an inventory source: the devices with a primary IP that NetBox's own filters
select, read through the real HTTP client from the fake NetBox 4.2."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
from network_discovery.discovery import (
    DeviceStatus,
    InventoryError,
    SecretRef,
    collect_ssh,
    parse_inventory,
    resolve_inventory,
)
from support.netbox_devices import NetBoxLab
from support.netbox_fake import FakeNetBox, running_netbox

TOKEN = "0123456789abcdef0123456789abcdef01234567"

INVENTORY = """
credentials:
  lab: {username: netops, password_env: LAB_PW}
defaults: {credentials: lab}
netbox:
  filters: {site: hq, role: [core, access], status: [active], tag: [discover]}
  platforms: {eos-custom: arista_eos}
hosts:
  acc1: {address: 10.9.9.9, platform: cisco_ios}
"""


@pytest.fixture
def netbox() -> Iterator[FakeNetBox]:
    with running_netbox(TOKEN) as fake:
        lab = NetBoxLab(fake)
        lab.device(
            "core1", role="Core", platform="arista-eos", address="127.0.0.11/8", tags=("discover",)
        )
        lab.device("acc1", platform="cisco-ios", address="127.0.0.12/8", tags=("discover",))
        lab.device("acc2", platform="Cisco_IOS", address="127.0.0.13/8", tags=("discover",))
        lab.device(
            "core2", role="Core", platform="eos-custom", address="127.0.0.20/8", tags=("discover",)
        )
        lab.device("fw1", platform="fortinet-fortios", address="127.0.0.16/8", tags=("discover",))
        lab.device("bare1", address="127.0.0.19/8", tags=("discover",))
        lab.device("noip1", platform="cisco-ios", tags=("discover",))
        lab.device(
            "off1",
            platform="cisco-ios",
            address="127.0.0.17/8",
            status="offline",
            tags=("discover",),
        )
        lab.device(
            "br1", site="Branch", platform="cisco-ios", address="127.0.0.18/8", tags=("discover",)
        )
        lab.device(
            "srv1", role="Server", platform="cisco-ios", address="127.0.0.30/8", tags=("discover",)
        )
        lab.device("untagged1", platform="cisco-ios", address="127.0.0.31/8")
        yield fake
        assert fake.violations == [], "requests or answers outside NetBox's schema"


def _env(netbox: FakeNetBox, token: str = TOKEN) -> dict[str, str]:
    return {"NETBOX_URL": netbox.base_url, "NETBOX_TOKEN": token}


def _resolve(text: str, environ: dict[str, str]):
    return asyncio.run(resolve_inventory(parse_inventory(text, "inv.yaml"), environ=environ))


def test_netbox_devices_become_targets_filtered_by_netbox(netbox: FakeNetBox) -> None:
    inv = _resolve(INVENTORY, _env(netbox))
    by_name = {t.name: t for t in inv.targets}
    # acc1 is in the file too: the file's host wins; the others come from NetBox
    assert set(by_name) == {"acc1", "core1", "acc2", "core2", "fw1", "bare1"}
    assert by_name["acc1"].address == "10.9.9.9"
    core = by_name["core1"]
    assert (core.address, core.platform, core.transport) == ("127.0.0.11", "arista_eos", "ssh")
    assert dict(core.meta) == {"site": "HQ", "role": "core", "tags": ("discover",)}
    assert core.credentials.password == SecretRef(env="LAB_PW")  # defaults.credentials
    assert by_name["acc2"].platform == "cisco_ios"  # a slug written with _ and capitals
    assert by_name["core2"].platform == "arista_eos"  # the inventory's own slug map
    assert by_name["fw1"].platform == "fortinet-fortios"
    assert by_name["bare1"].platform is None
    # every filter went to NetBox as a query parameter, with has_primary_ip
    (query,) = [q for m, p, q in netbox.log if p == "/api/dcim/devices/"]
    assert parse_qs(query) == {
        "site": ["hq"],
        "role": ["core", "access"],
        "status": ["active"],
        "tag": ["discover"],
        "has_primary_ip": ["true"],
        "limit": ["250"],
    }


def test_unknown_or_missing_platforms_are_unsupported_and_never_dialled(
    netbox: FakeNetBox,
) -> None:
    inv = _resolve(INVENTORY, _env(netbox))
    by_name = {t.name: t for t in inv.targets}
    fw = asyncio.run(collect_ssh(by_name["fw1"], timeout=1))
    bare = asyncio.run(collect_ssh(by_name["bare1"], timeout=1))
    assert (fw.status, fw.attempts) == (DeviceStatus.UNSUPPORTED_PLATFORM, 0)
    assert "'fortinet-fortios' is not one of" in fw.detail
    assert (bare.status, bare.attempts) == (DeviceStatus.UNSUPPORTED_PLATFORM, 0)


def test_snmp_transport_leaves_an_unknown_platform_to_sysdescr(netbox: FakeNetBox) -> None:
    text = (
        "credentials:\n  v2: {snmp_community_env: COMMUNITY}\n"
        "netbox: {credentials: v2, transport: snmp, port: 1161, filters: {tag: discover}}\n"
    )
    by_name = {t.name: t for t in _resolve(text, _env(netbox)).targets}
    assert by_name["fw1"].platform is None and by_name["fw1"].transport == "snmp"
    assert by_name["core1"].platform == "arista_eos" and by_name["core1"].port == 1161
    assert "untagged1" not in by_name and "noip1" not in by_name


def test_filter_values_are_parameters_never_text(netbox: FakeNetBox) -> None:
    text = "netbox: {filters: {site: 'hq&role=core', tag: \"x' OR 1=1 --\"}}\n"
    inv = _resolve(text, _env(netbox))
    assert inv.targets == ()
    (query,) = [q for m, p, q in netbox.log if p == "/api/dcim/devices/"]
    assert parse_qs(query)["site"] == ["hq&role=core"]
    assert parse_qs(query)["tag"] == ["x' OR 1=1 --"]


def test_netbox_not_configured_or_refusing_is_a_clear_error(netbox: FakeNetBox) -> None:
    with pytest.raises(InventoryError, match="needs NETBOX_URL and NETBOX_TOKEN"):
        _resolve(INVENTORY, {})
    with pytest.raises(InventoryError, match="check NETBOX_TOKEN"):
        _resolve(INVENTORY, _env(netbox, token="wrong"))
    with pytest.raises(InventoryError, match="must start with http"):
        _resolve(INVENTORY, {"NETBOX_URL": "netbox.example", "NETBOX_TOKEN": TOKEN})


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("{token: abc}", "'token' is not read from the inventory; set NETBOX_URL"),
        ("{filters: {region: eu}}", "unknown filter 'region'"),
        ("{filters: {site: [{a: 1}]}}", "filters.site: expected a name or a list"),
        ("{filters: {site: []}}", "filters.site: give at least one value"),
        ("{platforms: {fortios: fortinet}}", "platform 'fortinet' is not one of"),
        ("{credentials: nobody}", "credentials 'nobody' are not defined"),
        ("{transport: telnet}", "transport must be ssh or snmp"),
        ("{port: 70000}", "port: expected a number from 1 to 65535"),
        ("{url: 'http://x'}", "'url' is not read from the inventory"),
        ("[site]", "expected a mapping"),
        ("{nothing: 1}", "unknown key 'nothing'"),
    ],
)
def test_bad_netbox_sections_say_what_to_fix(section: str, message: str) -> None:
    with pytest.raises(InventoryError, match=r"inv\.yaml: netbox") as err:
        parse_inventory(f"netbox: {section}\n", "inv.yaml")
    assert message in str(err.value)


def test_scheduled_discovery_reads_netbox_at_every_run(
    netbox: FakeNetBox, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service's timer resolves the netbox section inside its own event loop; a NetBox that
    refuses the token is logged and the run skipped, not raised."""
    from network_discovery.discovery.schedule import ScheduledDiscovery

    published = []

    async def publish(snapshot) -> None:
        published.append(snapshot)

    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("netbox: {filters: {site: hq, tag: discover}}\n")
    schedule = ScheduledDiscovery(inventory=inventory, interval=3600, publish=publish)
    monkeypatch.setenv("NETBOX_URL", netbox.base_url)
    monkeypatch.setenv("NETBOX_TOKEN", "wrong")
    assert asyncio.run(schedule.run_once()) is None and schedule.runs == 0

    # only devices whose platform cannot be collected: every one reported, none dialled
    inventory.write_text(
        "netbox: {filters: {site: hq, role: access, tag: discover, status: active}}\n"
    )
    for name in ("acc1", "acc2", "noip1"):
        netbox.store.objects["dcim/devices"] = {
            k: v for k, v in netbox.store.objects["dcim/devices"].items() if v["name"] != name
        }
    monkeypatch.setenv("NETBOX_TOKEN", TOKEN)
    summary = asyncio.run(schedule.run_once())
    assert summary is not None and schedule.runs == 1
    assert {r.target.name: r.status for r in summary.results} == {
        "fw1": DeviceStatus.UNSUPPORTED_PLATFORM,
        "bare1": DeviceStatus.UNSUPPORTED_PLATFORM,
    }
    assert summary.dialled() == set() and published == []
