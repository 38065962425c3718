"""A Junos configuration, in the curly form (``show configuration``) or the set form (``show
configuration | display set``), is a source of the facts show output gives: the device,
interfaces and units, addresses, VLANs, connected and static routes (and an SRX's policy).

Both forms are read into one (the set form), so that they yield the same facts:

- on three real routers of Batfish's lab validation (tests/fixtures/real/junos/configs), the
  curly configuration the lab loaded becomes exactly the statements the router printed with
  ``| display set``, and both give the same facts;
- on real vQFX switches that printed their configuration in the curly form (SuzieQ's Junos
  lab, tests/fixtures/real/suzieq/junos), the set form made of it reads the same.

Configurations and show output of the same router agree: the configuration read alone gives
the addresses, admin states and the connected and static routes that show interfaces and
show route give; where they differ, the tests say why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from network_discovery.model import FactKind, Interface
from network_discovery.parsers import CommandOutput, DeviceFacts, ParseReport, parse_device
from network_discovery.parsers._configs import junos_config
from network_discovery.parsers._context import DeviceContext
from network_discovery.parsers._session import split_session
from network_discovery.parsers.config import junos_set_form

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real"
CONFIGS = REAL / "junos" / "configs"
SOURCES = CONFIGS / "sources"
SUZIEQ = REAL / "suzieq" / "junos"
SET = "show_configuration_|_display_set.txt"
SHOW = (
    "show_interfaces_|_display_json.txt",
    "show_route_|_display_json.txt",
    "show_version_|_display_json.txt",
)
PLATFORM = "juniper_junos"
ROUTERS = {
    "static_route_defaults": CONFIGS / "junos_static_route_defaults" / "r1",
    "resolution": CONFIGS / "juniper_resolution" / "r1",
    "l3vpn": CONFIGS / "junos_l3vpn" / "pe1",
}


def _parse(folder: Path, *names: str, hostname: str = "renamed") -> tuple[DeviceFacts, ParseReport]:
    facts, report = parse_device(hostname, PLATFORM, {n: folder / n for n in names})
    assert report.errors == [], report.summary()
    return facts, report


def _text(text: str, name: str = "show configuration.txt") -> tuple[DeviceFacts, ParseReport]:
    return parse_device("r1", PLATFORM, {name: CommandOutput("memory://cfg", text)})


def _addresses(facts: DeviceFacts) -> set[tuple[str, str]]:
    return {(a.interface, a.address) for a in facts.ip_addresses}


def _routes(facts: DeviceFacts) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    """(VRF, prefix, protocol) -> (distance, next hops); a static route's next hops by their
    address alone (Junos prints the interface it resolved the gateway to); IPv6 link-local
    subnets (the device makes them) left out."""
    out: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    for r in facts.routes:
        if r.protocol not in ("connected", "static") or r.prefix.startswith("fe80:"):
            continue
        if r.protocol == "static":
            hops = tuple(sorted(h.address or h.interface or "" for h in r.next_hops))
        else:
            hops = tuple((h.address, h.interface) for h in r.next_hops)
        out[(r.vrf_name, r.prefix, str(r.protocol))] = (r.distance, hops)
    return out


def _facts(facts: DeviceFacts) -> dict[str, Any]:
    """Everything a configuration yields, comparable."""
    return {
        "record": facts.record,
        "interfaces": sorted(i.model_dump_json() for i in facts.interfaces),
        "addresses": sorted(a.model_dump_json() for a in facts.ip_addresses),
        "routes": sorted(r.model_dump_json() for r in facts.routes),
        "vlans": sorted(v.model_dump_json() for v in facts.vlans),
        "kinds": sorted(facts.kinds),
        "firewall": sorted(r.model_dump_json() for r in facts.firewall_rules),
    }


def _iface(facts: DeviceFacts, name: str) -> Interface:
    return next(i for i in facts.interfaces if i.name == name)


# --- the configuration and the show output of the same router agree ----------------------


@pytest.mark.parametrize("router", sorted(ROUTERS))
def test_the_configuration_and_show_output_of_a_router_agree(router: str) -> None:
    folder = ROUTERS[router]
    config, report = _parse(folder, SET)
    shown, _ = _parse(folder, *SHOW)
    assert "the device calls itself" in report.summary()
    assert config.record is not None and shown.record is not None
    assert (config.record.vendor, config.record.platform) == ("Juniper", PLATFORM)
    assert config.record.os_version == shown.record.os_version
    # every address the configuration sets, as the router printed it; the router adds
    # link-local and internal ones (em1, bme0, lo0.16384) that no configuration sets
    configured = {i.name for i in config.interfaces}
    printed = {
        (name, address)
        for name, address in _addresses(shown)
        if name in configured and not address.startswith("fe80:")
    }
    assert _addresses(config) == printed
    by_name = {i.name: i for i in shown.interfaces}
    assert configured <= set(by_name)
    for iface in config.interfaces:
        if "." not in iface.name:  # show interfaces tells a port's admin state, not a unit's
            assert iface.admin_status == by_name[iface.name].admin_status, iface.name
    assert {r.origin for r in config.routes} == {"derived"}
    derived, table = _routes(config), _routes(shown)
    if router == "l3vpn":
        # ge-0/0/1 (the CE side, in VRF CUSTOMERS) is enabled but its link is down: the
        # router has no direct route for its subnet, so the VRF's discard route to the same
        # prefix is the active one (both are in the configuration)
        assert set(derived) - set(table) == {("CUSTOMERS", "10.100.1.0/24", "connected")}
        del derived[("CUSTOMERS", "10.100.1.0/24", "connected")]
    if router == "resolution":
        # 10.10.7.0/32 resolves its next hop through 10.10.6.0/32, but the lab's
        # "routing-options resolution rib inet.0 import" policy lets only /24 routes resolve:
        # a resolution policy is not applied here
        assert set(derived) - set(table) == {("default", "10.10.7.0/32", "static")}
        del derived[("default", "10.10.7.0/32", "static")]
        # a route with "resolve" is printed with the gateway its next hop resolved to
        for prefix in ("10.10.4.0/32", "10.10.5.0/32"):
            key = ("default", prefix, "static")
            assert derived[key][0] == table[key][0] == 5
            derived[key] = table[key]
    assert derived == table


def test_static_route_defaults_are_per_static_block() -> None:
    # the lab's question: "static defaults" hold per routing table and per instance
    config, _ = _parse(ROUTERS["static_route_defaults"], SET)
    statics = {
        (r.vrf_name, r.prefix): (r.distance, r.tag) for r in config.routes if r.protocol == "static"
    }
    assert statics == {
        ("default", "10.200.1.0/24"): (50, "1000"),
        ("default", "10.200.2.0/24"): (7, "1000"),  # its own preference, the block's tag
        ("default", "2001:db8:200::/48"): (60, "2000"),  # rib inet6.0: its own defaults
        ("RED", "10.210.1.0/24"): (5, None),  # the master's defaults do not reach an instance
        ("BLUE", "10.220.1.0/24"): (80, "3000"),
        ("mgmt_junos", "0.0.0.0/0"): (5, None),
        ("mgmt_junos", "::/0"): (5, None),
    }
    vrfs = {a.interface: a.vrf for a in config.ip_addresses}
    # "system management-instance" puts fxp0 in mgmt_junos
    assert (vrfs["lo0.1"], vrfs["lo0.2"], vrfs["fxp0"], vrfs["lo0"]) == (
        "RED",
        "BLUE",
        "mgmt_junos",
        None,
    )
    assert _iface(config, "lo0.1").description == "RED virtual-router loopback"
    assert _iface(config, "lo0.1").parent == "lo0"


def test_vlans_trunks_irb_and_vrfs_of_an_evpn_leaf() -> None:
    config, _ = _parse(CONFIGS / "junos_evpn_type5" / "node1-1", SET)
    assert {(v.vlan, v.name) for v in config.vlans} == {
        (100, "VLAN100"),
        (200, "VLAN200"),
        (300, "VLAN300"),
        (400, "VLAN400"),
    }
    trunk = _iface(config, "ge-0/0/6")
    assert (trunk.mode, trunk.trunk_vlans, trunk.description) == (
        "trunk",
        (100, 300),  # "vlan members VLAN100" and VLAN300, by name
        "client1 access port",
    )
    assert _iface(config, "ge-0/0/1").mtu == 9192
    irb = {
        a.interface: (a.address, a.vrf)
        for a in config.ip_addresses
        if a.interface.startswith("irb")
    }
    # the virtual gateway address under each is not the unit's own
    assert irb == {
        "irb.100": ("172.16.100.1/24", "TENANT-A"),
        "irb.200": ("172.16.200.1/24", "TENANT-A"),
        "irb.300": ("172.16.101.1/24", "TENANT-B"),
        "irb.400": ("172.16.201.1/24", "TENANT-B"),
    }
    assert _iface(config, "irb.100").parent == "irb"
    # no security hierarchy: no policy is made up for a router (nor a switch)
    assert config.firewall_rulesets == [] and FactKind.FIREWALL in config.kinds


# --- both forms of one configuration yield the same facts --------------------------------

CURLY_SOURCES = {
    "junos_static_route_defaults-r1.cfg": CONFIGS / "junos_static_route_defaults" / "r1",
    "junos_l3vpn-pe1.cfg": CONFIGS / "junos_l3vpn" / "pe1",
    "junos_evpn_type5-node1-1.cfg": CONFIGS / "junos_evpn_type5" / "node1-1",
}


@pytest.mark.parametrize("source", sorted(CURLY_SOURCES))
def test_a_curly_configuration_becomes_what_the_router_prints_as_set(source: str) -> None:
    curly = (SOURCES / source).read_text()
    printed = (CURLY_SOURCES[source] / SET).read_text()
    mine = junos_set_form(curly)
    assert mine.problems == [] and not mine.was_set
    statements = [tuple(w) for _, w in mine.statements()]
    device = {tuple(w) for _, w in junos_set_form(printed).statements()}
    # every statement, as the router printed it; only "version" differs (the lab's file names
    # the release it was written for, the router the one it runs)
    assert [s for s in statements if s not in device] == [
        s for s in statements if s[0] == "version"
    ]
    # the router's set lines of the same statements give the same facts
    lines = printed.splitlines()
    same = "\n".join(
        lines[number - 1]
        for number, words in junos_set_form(printed).statements()
        if tuple(words) in statements
    )
    without_version = "\n".join(
        line for line in curly.splitlines() if not line.startswith("version ")
    )
    assert _facts(_text(without_version)[0]) == _facts(_text(same, SET)[0])


def _suzieq(device: str) -> dict[str, str]:
    return {
        item.command: item.output
        for item in split_session((SUZIEQ / device / "session.log").read_text())
    }


@pytest.mark.parametrize("device", ["leaf01", "exit01"])
def test_a_curly_configuration_a_switch_printed(device: str) -> None:
    outputs = _suzieq(device)
    curly = outputs["show configuration | except SECRET-DATA"]
    assert curly.startswith("## Last commit:")
    form = junos_set_form(curly)
    assert form.problems == [] and not form.was_set
    config, report = _text(curly)
    assert [i.message for i in report.issues if i.line is not None] == []
    as_set, _ = _text(form.text(), SET)
    assert _facts(config) == _facts(as_set)
    shown, _ = parse_device(
        "r1",
        PLATFORM,
        {
            name: CommandOutput(f"memory://{name}", outputs[name])
            for name in (
                "show interface | display json | no-more",
                "show route | display json | no-more",
                "show system information | display json | no-more",
            )
        },
    )
    assert config.record is not None and shown.record is not None
    # a vQFX's "version" is a build, not a release: the OS version is left to the device
    assert config.record.os_version is None and shown.record.os_version == "19.4R1.10"
    # the factory default's DHCP client on every port a QFX may have (some 400, most not in
    # a vQFX) does not make them interfaces; every one the configuration gives is there
    by_name = {i.name: i for i in shown.interfaces}
    assert {i.name for i in config.interfaces} <= set(by_name)
    # xe-0/0/0 and xe-0/0/1 borrow lo0's address (unnumbered-address) and em0 has one by
    # DHCP: the configuration gives none to them
    assert _addresses(config) <= _addresses(shown)
    borrowed = {
        (n, a) for n, a in _addresses(shown) - _addresses(config) if n.startswith(("xe-", "em0"))
    }
    assert {n for n, _ in borrowed} <= {"xe-0/0/0", "xe-0/0/1", "em0"}
    derived, table = _routes(config), _routes(shown)
    assert derived.items() <= table.items()
    vrfs = {i.name: i.vrf for i in config.interfaces if i.vrf}
    assert vrfs and set(vrfs.values()) <= {"evpn-vrf", "internet-vrf"}


CURLY = """\
## Last commit: 2026-12-06 10:00:00 UTC by admin
version 21.4R3-S5.4;
system {
    host-name edge9;
    management-instance;
}
interfaces {
    ge-0/0/0 {
        description "to core: \\"A\\" side";
        mtu 9192;
        speed 10g;
        unit 0 {
            family inet {
                address 10.0.0.1/31;
            }
            family inet6 {
                address 2001:db8::1/64;
            }
        }
    }
    ge-0/0/1 {
        disable;
        unit 0 {
            family inet {
                address 10.0.1.1/24;
            }
        }
    }
    ge-0/0/2 {
        vlan-tagging;
        unit 100 {
            description "customer A";
            vlan-id 100;
            family inet {
                address 198.51.100.1/24;
            }
        }
        unit 200 {
            disable;
            vlan-id 200;
            family inet {
                address 203.0.113.1/24;
            }
        }
        /* switched off, kept */
        inactive: unit 300 {
            vlan-id 300;
            family inet {
                address 100.64.0.1/24;
            }
        }
    }
    ge-0/0/3 {
        gigether-options {
            802.3ad ae0;
        }
    }
    ge-0/0/4 {
        ether-options {
            802.3ad ae0;
        }
    }
    ge-0/0/5 {
        unit 0 {
            family ethernet-switching {
                vlan {
                    members USERS;
                }
            }
        }
    }
    ge-0/0/6 {
        unit 0 {
            family ethernet-switching {
                interface-mode access;
                vlan {
                    members GHOST;
                }
            }
        }
    }
    ge-0/0/7 {
        unit 0 {
            family inet {
                address 10.7.7.1/33;
            }
        }
    }
    xe-0/0/9:0 {
        unit 0 {
            family inet {
                dhcp {
                    vendor-id Juniper-qfx5100-48s-6q;
                }
            }
        }
    }
    ae0 {
        native-vlan-id 10;
        unit 0 {
            family ethernet-switching {
                interface-mode trunk;
                vlan {
                    members [ USERS 20-21 ];
                }
            }
        }
    }
    irb {
        unit 10 {
            family inet {
                address 10.10.0.1/24 {
                    virtual-gateway-address 10.10.0.254;
                }
            }
        }
    }
    fxp0 {
        unit 0 {
            family inet {
                address 172.30.0.5/24;
            }
        }
    }
    lo0 {
        unit 0 {
            family inet {
                address 10.255.0.9/32;
            }
        }
        unit 5 {
            family inet {
                address 10.255.5.9/32;
            }
        }
    }
}
routing-options {
    static {
        defaults {
            preference 20;
        }
        route 0.0.0.0/0 {
            next-hop 10.0.0.0;
            qualified-next-hop 10.0.1.254 {
                preference 30;
            }
        }
        route 10.20.0.0/16 {
            qualified-next-hop 10.0.0.0;
            qualified-next-hop ge-0/0/0.0 {
                preference 50;
            }
            tag 300;
        }
        route 10.30.0.0/16 reject;
        route 10.40.0.0/16 next-table BLUE.inet.0;
        route 10.50.0.0/16 {
            next-hop 10.20.0.1;
            resolve;
        }
        route 10.60.0.0/16 next-hop 10.20.0.1;
        route 10.70.0.0/16 next-hop ge-0/0/0.0;
    }
    rib inet6.0 {
        static {
            route ::/0 next-hop 2001:db8::2;
        }
    }
}
routing-instances {
    BLUE {
        instance-type vrf;
        interface ge-0/0/2.100;
        interface lo0.5;
        routing-options {
            static {
                route 0.0.0.0/0 next-hop 198.51.100.254;
            }
        }
    }
    SW {
        instance-type virtual-switch;
        interface ge-0/0/5.0;
    }
    mgmt_junos {
        routing-options {
            static {
                route 0.0.0.0/0 next-hop 172.30.0.1;
            }
        }
    }
}
vlans {
    USERS {
        vlan-id 10;
        l3-interface irb.10; ## the gateway
    }
    VOICE {
        vlan-id 20;
    }
}
"""

SET_FORM = """\
set version 21.4R3-S5.4
set system host-name edge9
set system management-instance
set interfaces ge-0/0/0 description "to core: \\"A\\" side"
set interfaces ge-0/0/0 mtu 9192
set interfaces ge-0/0/0 speed 10g
set interfaces ge-0/0/0 unit 0 family inet address 10.0.0.1/31
set interfaces ge-0/0/0 unit 0 family inet6 address 2001:db8::1/64
set interfaces ge-0/0/1 disable
set interfaces ge-0/0/1 unit 0 family inet address 10.0.1.1/24
set interfaces ge-0/0/2 vlan-tagging
set interfaces ge-0/0/2 unit 100 description "customer A"
set interfaces ge-0/0/2 unit 100 vlan-id 100
set interfaces ge-0/0/2 unit 100 family inet address 198.51.100.1/24
set interfaces ge-0/0/2 unit 200 disable
set interfaces ge-0/0/2 unit 200 vlan-id 200
set interfaces ge-0/0/2 unit 200 family inet address 203.0.113.1/24
set interfaces ge-0/0/2 unit 300 vlan-id 300
set interfaces ge-0/0/2 unit 300 family inet address 100.64.0.1/24
deactivate interfaces ge-0/0/2 unit 300
set interfaces ge-0/0/3 gigether-options 802.3ad ae0
set interfaces ge-0/0/4 ether-options 802.3ad ae0
set interfaces ge-0/0/5 unit 0 family ethernet-switching vlan members USERS
set interfaces ge-0/0/6 unit 0 family ethernet-switching interface-mode access
set interfaces ge-0/0/6 unit 0 family ethernet-switching vlan members GHOST
set interfaces ge-0/0/7 unit 0 family inet address 10.7.7.1/33
set interfaces xe-0/0/9:0 unit 0 family inet dhcp vendor-id Juniper-qfx5100-48s-6q
set interfaces ae0 native-vlan-id 10
set interfaces ae0 unit 0 family ethernet-switching interface-mode trunk
set interfaces ae0 unit 0 family ethernet-switching vlan members USERS
set interfaces ae0 unit 0 family ethernet-switching vlan members 20-21
set interfaces irb unit 10 family inet address 10.10.0.1/24 virtual-gateway-address 10.10.0.254
set interfaces fxp0 unit 0 family inet address 172.30.0.5/24
set interfaces lo0 unit 0 family inet address 10.255.0.9/32
set interfaces lo0 unit 5 family inet address 10.255.5.9/32
set routing-options static defaults preference 20
set routing-options static route 0.0.0.0/0 next-hop 10.0.0.0
set routing-options static route 0.0.0.0/0 qualified-next-hop 10.0.1.254 preference 30
set routing-options static route 10.20.0.0/16 qualified-next-hop 10.0.0.0
set routing-options static route 10.20.0.0/16 qualified-next-hop ge-0/0/0.0 preference 50
set routing-options static route 10.20.0.0/16 tag 300
set routing-options static route 10.30.0.0/16 reject
set routing-options static route 10.40.0.0/16 next-table BLUE.inet.0
set routing-options static route 10.50.0.0/16 next-hop 10.20.0.1
set routing-options static route 10.50.0.0/16 resolve
set routing-options static route 10.60.0.0/16 next-hop 10.20.0.1
set routing-options static route 10.70.0.0/16 next-hop ge-0/0/0.0
set routing-options rib inet6.0 static route ::/0 next-hop 2001:db8::2
set routing-instances BLUE instance-type vrf
set routing-instances BLUE interface ge-0/0/2.100
set routing-instances BLUE interface lo0.5
set routing-instances BLUE routing-options static route 0.0.0.0/0 next-hop 198.51.100.254
set routing-instances SW instance-type virtual-switch
set routing-instances SW interface ge-0/0/5.0
set routing-instances mgmt_junos routing-options static route 0.0.0.0/0 next-hop 172.30.0.1
set vlans USERS vlan-id 10
set vlans USERS l3-interface irb.10
set vlans VOICE vlan-id 20
"""


@pytest.fixture(scope="module")
def both() -> tuple[tuple[DeviceFacts, ParseReport], tuple[DeviceFacts, ParseReport]]:
    return _text(CURLY), _text(SET_FORM, SET)


def test_the_two_forms_are_one_configuration(both: Any) -> None:
    (curly, curly_report), (set_form, set_report) = both
    curly_statements = sorted(w for _, w in junos_set_form(CURLY).statements())
    set_statements = sorted(w for _, w in junos_set_form(SET_FORM).statements())
    assert curly_statements == set_statements
    assert _facts(curly) == _facts(set_form)
    # the same unreadable statements, each at its own line of its own text
    for text, report in ((CURLY, curly_report), (SET_FORM, set_report)):
        lines = text.splitlines()
        at = [i.line for i in report.issues if i.line is not None]
        ghost = next(n for n, line in enumerate(lines, 1) if "GHOST" in line)
        bad = next(n for n, line in enumerate(lines, 1) if "10.7.7.1/33" in line)
        assert sorted(at) == sorted([ghost, bad]), report.summary()
        assert report.errors == []


def test_interfaces_and_units(both: Any) -> None:
    (facts, _), _ = both
    assert facts.record is not None and facts.record.os_version == "21.4R3-S5.4"
    core = _iface(facts, "ge-0/0/0")  # the port and its unit 0 are one interface
    assert (core.description, core.mtu, core.speed_mbps, core.mode) == (
        'to core: "A" side',
        9192,
        10000,
        "routed",
    )
    assert _iface(facts, "ge-0/0/1").admin_status == "down"
    customer = _iface(facts, "ge-0/0/2.100")
    assert (customer.description, customer.vrf, customer.parent, customer.admin_status) == (
        "customer A",
        "BLUE",
        "ge-0/0/2",
        "up",
    )
    assert _iface(facts, "ge-0/0/2.200").admin_status == "down"
    names = {i.name for i in facts.interfaces}
    assert "ge-0/0/2.300" not in names  # inactive
    assert "xe-0/0/9:0" not in names  # the factory default's DHCP client only
    assert sorted(n for n in names if _iface(facts, n).lag == "ae0") == ["ge-0/0/3", "ge-0/0/4"]
    trunk = _iface(facts, "ae0")
    assert (trunk.mode, trunk.trunk_vlans, trunk.native_vlan) == ("trunk", (10, 20, 21), 10)
    access = _iface(facts, "ge-0/0/5")  # in a virtual switch: no VRF
    assert (access.mode, access.access_vlan, access.vrf) == ("access", 10, None)
    assert _iface(facts, "ge-0/0/6").access_vlan is None  # GHOST is no VLAN
    assert {(v.vlan, v.name) for v in facts.vlans} == {(10, "USERS"), (20, "VOICE")}
    assert {(a.interface, a.address, a.vrf) for a in facts.ip_addresses} == {
        ("ge-0/0/0", "10.0.0.1/31", None),
        ("ge-0/0/0", "2001:db8::1/64", None),
        ("ge-0/0/1", "10.0.1.1/24", None),
        ("ge-0/0/2.100", "198.51.100.1/24", "BLUE"),
        ("ge-0/0/2.200", "203.0.113.1/24", None),
        ("irb.10", "10.10.0.1/24", None),
        ("fxp0", "172.30.0.5/24", "mgmt_junos"),
        ("lo0", "10.255.0.9/32", None),
        ("lo0.5", "10.255.5.9/32", "BLUE"),
    }


def test_static_routes(both: Any) -> None:
    (facts, _), _ = both
    routes = {(r.vrf_name, r.prefix, str(r.protocol)): r for r in facts.routes}
    connected = sorted((v, p) for v, p, kind in routes if kind == "connected")
    # ge-0/0/1 and ge-0/0/2.200 are disabled: no direct route
    assert connected == [
        ("BLUE", "10.255.5.9/32"),
        ("BLUE", "198.51.100.0/24"),
        ("default", "10.0.0.0/31"),
        ("default", "10.10.0.0/24"),
        ("default", "10.255.0.9/32"),
        ("default", "2001:db8::/64"),
        ("mgmt_junos", "172.30.0.0/24"),
    ]

    def static(vrf: str, prefix: str) -> tuple[int | None, list[str | None], str | None]:
        r = routes[(vrf, prefix, "static")]
        return r.distance, [h.address or h.interface for h in r.next_hops], r.tag

    assert static("default", "0.0.0.0/0") == (20, ["10.0.0.0"], None)  # the block's default
    assert static("default", "10.20.0.0/16") == (20, ["10.0.0.0"], "300")  # the backup waits
    assert static("default", "10.30.0.0/16") == (20, [], None)  # reject: drops
    assert static("default", "10.50.0.0/16") == (20, ["10.20.0.1"], None)  # resolve
    assert static("default", "10.70.0.0/16") == (20, ["ge-0/0/0"], None)
    assert static("default", "::/0") == (5, ["2001:db8::2"], None)  # inet6.0: no defaults
    assert static("BLUE", "0.0.0.0/0") == (5, ["198.51.100.254"], None)
    assert static("mgmt_junos", "0.0.0.0/0") == (5, ["172.30.0.1"], None)
    # next-table forwards to no neighbour; without resolve a next hop must be connected
    assert ("default", "10.40.0.0/16", "static") not in routes
    assert ("default", "10.60.0.0/16", "static") not in routes


SRX = """\
system {
    host-name fw1;
}
interfaces {
    ge-0/0/0 {
        unit 0 {
            family inet {
                address 10.0.0.1/24;
            }
        }
    }
}
security {
    zones {
        security-zone trust {
            interfaces {
                ge-0/0/0.0;
            }
        }
    }
    policies {
        from-zone trust to-zone trust {
            policy web {
                match {
                    source-address any;
                    destination-address any;
                    application junos-http;
                }
                then {
                    permit;
                }
            }
            inactive: policy old {
                match {
                    source-address any;
                    destination-address any;
                    application any;
                }
                then {
                    deny;
                }
            }
            policy broken {
                match {
                    source-address NOWHERE;
                    destination-address any;
                    application any;
                }
                then {
                    permit;
                }
            }
        }
    }
}
"""


def test_an_srx_policy_from_the_curly_form() -> None:
    partials, problems = junos_config(SRX, DeviceContext("fw1", PLATFORM))
    rules = [
        p.value for p in partials if p.kind is FactKind.FIREWALL and hasattr(p.value, "position")
    ]
    assert [(r.name, r.action, r.enabled) for r in rules] == [
        ("web", "permit", True),
        ("old", "deny", False),
    ]
    # the problem is at the line of the curly text it came from
    lines = SRX.splitlines()
    assert [n for n, _ in problems] == [
        lines.index("                    source-address NOWHERE;") + 1
    ]
    ifaces = [p.value["name"] for p in partials if p.kind is FactKind.INTERFACES]
    assert ifaces == ["ge-0/0/0"]


def test_form_problems_are_reported() -> None:
    _, report = _text('interfaces {\n    ge-0/0/0 {\n        description "open;\n    }\n')
    # the open quote, and the block it left open ("interfaces {")
    assert sorted(i.line for i in report.issues if i.line is not None) == [1, 3]
    messages = " ".join(i.message for i in report.issues)
    assert "quoted string" in messages and "ends inside a block" in messages
