"""Junos LLDP detail ("show lldp neighbors interface <name>"): our own template, across
the layouts different releases print."""

from network_discovery.parsers import find_command, parse_device

# An older MX release: no Parent Interface line, "Management address" with "Address Type",
# a neighbour sending its ifIndex as port id; then an EX with "Local Parent Interface", two
# management addresses, LLDP-MED sections and a phone; then a port whose neighbour sends
# no system name, no description and no capabilities.
OLDER_AND_NEWER = """\
LLDP Neighbor Information:
Local Information:
Index: 13 Time to live: 120 Time mark: Tue Feb 24 14:28:59 2026 Age: 20 secs
Local Interface    : xe-0/0/1
Local Port ID      : 513
Neighbour Information:
Chassis type       : Mac address
Chassis ID         : 78:19:f7:07:ff:c0
Port type          : Locally assigned
Port ID            : 531
Port description   : xe-5/2/1
System name        : mx-far-1
System Description : Juniper Networks, Inc. mx480 , version 19.4R3-S9.2 Build date: 2022-08-10
System capabilities
        Supported: Bridge Router
        Enabled  : Router
Management address
        Address Type      : IPv4(1)
        Address           : 198.51.100.7
        Interface Number  : 586
        Interface Subtype : ifIndex(2)
        OID               : 1.3.6.1.2.1.31.1.1.1.1.586.
Organization Info
        OUI      : IEEE 802.3 Private (0x00120f)
        Subtype  : Maximum Frame Size (4)
        Info     : MTU Size (9192)
        Index    : 1

ops@ex-2f> show lldp neighbors interface ge-0/0/12
LLDP Neighbor Information:
Local Information:
Index: 41 Time to live: 180 Time mark: Tue Feb 24 14:29:03 2026 Age: 4 secs
Local Interface    : ge-0/0/12
Local Parent Interface : ae3
Local Port ID      : 528
Ageout Count       : 0

Neighbour Information:
Chassis type       : Network address
Chassis ID         : 10.20.30.40
Port type          : Mac address
Port ID            : 00:eb:d5:a1:b2:99
System name        : SEP00EBD5A1B299

System Description : Cisco IP Phone CP-8845, V3, sip88xx.14-2-1-0001-23

System capabilities
        Supported: Bridge Telephone
        Enabled  : Bridge Telephone

Management Info
        Type              : IPv4
        Address           : 10.10.20.61
        Port ID           : 1
        Subtype           : 1
        Interface Subtype : Unknown(1)
        OID               : 1.3.6.1.4.1.9.6.1.101.1.1

        Type              : IPv6
        Address           : 2001:db8:20::61
        Port ID           : 1
        Subtype           : 1
        Interface Subtype : Unknown(1)
        OID               : 1.3.6.1.4.1.9.6.1.101.1.1

Media endpoint class: Class III Device

MED Hardware revision    : 3
MED Firmware revision    : 0.0.1
MED Software revision    : sip88xx.14-2-1-0001-23
MED Serial number        : FCH2401ABCD
MED Manufacturer name    : Cisco Systems, Inc.
MED Model name           : CP-8845

{master:0}
ops@ex-2f> show lldp neighbors interface ge-0/0/30
LLDP Neighbor Information:
Local Information:
Index: 42 Time to live: 120 Time mark: Tue Feb 24 14:29:07 2026 Age: 11 secs
Local Interface    : ge-0/0/30
Parent Interface   : -
Local Port ID      : 546
Ageout Count       : 0

Neighbour Information:
Chassis type       : Mac address
Chassis ID         : a0:36:9f:12:34:56
Port type          : Mac address
Port ID            : a0:36:9f:12:34:57

{master:0}
"""


def _parse(tmp_path, content, name="show_lldp_neighbors_interface.txt"):
    path = tmp_path / name
    path.write_text(content)
    return parse_device("ex-2f", "juniper_junos", {name: path})


def test_file_names_and_rank():
    detail = find_command("juniper_junos", "show_lldp_neighbors_interface")
    assert detail is find_command("juniper_junos", "show_lldp_neighbors_detail")
    brief = find_command("juniper_junos", "show_lldp_neighbors")
    assert detail.group == brief.group == "lldp" and detail.rank > brief.rank
    assert str(detail.template) == "own:juniper_junos_show_lldp_neighbors_interface.textfsm"


def test_layouts_of_several_releases(tmp_path):
    facts, report = _parse(tmp_path, OLDER_AND_NEWER)
    assert report.issues == []
    n = {o.interface: o for o in facts.neighbors}
    assert list(n) == ["xe-0/0/1", "ge-0/0/12", "ge-0/0/30"]
    mx = n["xe-0/0/1"]
    # the id is the sender's ifIndex; the description names the port, the id is kept apart
    assert (mx.remote_system_name, mx.remote_port, mx.remote_port_id) == (
        "mx-far-1",
        "xe-5/2/1",
        "531",
    )
    assert mx.remote_port_description == "xe-5/2/1"
    assert mx.remote_chassis_id == "78:19:f7:07:ff:c0"
    assert mx.remote_management_address == "198.51.100.7"
    assert mx.capabilities == ("router",)  # enabled, not supported
    assert mx.remote_description.startswith("Juniper Networks, Inc. mx480 , version 19.4R3")
    phone = n["ge-0/0/12"]
    assert phone.remote_system_name == "SEP00EBD5A1B299"
    assert phone.remote_chassis_id == "10.20.30.40"
    assert phone.remote_port == "00:eb:d5:a1:b2:99"
    assert phone.remote_management_address == "10.10.20.61"  # the first of two
    assert phone.capabilities == ("bridge", "telephone")
    assert phone.remote_description == "Cisco IP Phone CP-8845, V3, sip88xx.14-2-1-0001-23"
    bare = n["ge-0/0/30"]
    assert bare.remote_system_name is None and bare.remote_chassis_id == "a0:36:9f:12:34:56"
    assert (bare.remote_port, bare.capabilities, bare.remote_management_address) == (
        "a0:36:9f:12:34:57",
        (),
        None,
    )


def test_multi_word_capabilities_and_supported_only(tmp_path):
    block = """\
LLDP Neighbor Information:
Local Information:
Index: 7 Time to live: 120 Time mark: Tue Feb 24 14:30:00 2026 Age: 2 secs
Local Interface    : ge-0/0/20
Parent Interface   : -
Local Port ID      : 530
Ageout Count       : 0

Neighbour Information:
Chassis type       : Mac address
Chassis ID         : 70:69:5a:3b:4c:20
Port type          : Interface name
Port ID            : GigabitEthernet0
Port description   : GigabitEthernet0
System name        : ap-2f-02

System Description : Cisco AP Software, C9120AXI-E, 17.9.4.27, RELEASE SOFTWARE
Technical Support: http://www.cisco.com/techsupport

System capabilities
        Supported: Bridge WLAN Access Point Router

"""
    facts, report = _parse(tmp_path, block, name="show_lldp_neighbors_detail.txt")
    assert report.issues == []
    [ap] = facts.neighbors
    assert ap.capabilities == ("bridge", "router", "wlan_access_point")  # sorted
    assert ap.remote_port == "GigabitEthernet0"
    assert ap.remote_description == "Cisco AP Software, C9120AXI-E, 17.9.4.27, RELEASE SOFTWARE"


def test_text_before_the_first_block_is_refused(tmp_path):
    facts, report = _parse(tmp_path, "error: command is not valid on the ex4300-48t\n")
    [error] = report.errors
    assert error.line == 1 and error.template.startswith("own:")
    assert facts.neighbors == []
