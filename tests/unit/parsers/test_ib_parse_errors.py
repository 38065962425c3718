"""What the InfiniBand parsers do with input they cannot read: bounded, reported by line,
never half-parsed into a wrong fact."""

# ruff: noqa: E501  (the tools' own lines are wider than 100 columns)

from __future__ import annotations

import pytest
from network_discovery.model.fabric import IBPhysState, IBPortState, IBSpeed, IBWidth
from network_discovery.parsers.infiniband import (
    MAX_INPUT_BYTES,
    MAX_INPUT_LINES,
    MAX_LINE_CHARS,
    FabricInputError,
    parse_iblinkinfo,
    parse_ibnetdiscover,
    parse_ibqueryerrors,
    parse_ibstat,
    parse_ibstatus,
    parse_perfquery,
)

SWITCH = """\
vendid=0x2c9
devid=0xd2f0
sysimgguid=0xc42a10300000400
switchguid=0xc42a10300000400(c42a10300000400)
Switch\t40 "S-0c42a10300000400"\t\t# "MF0;leaf01:MQM8700/U1" enhanced port 0 lid 11 lmc 0
[3]\t"H-b8cef60300000020"[1](b8cef60300000021) \t\t# "gpu-0102 mlx5_0" lid 27 1xNDR
[4]\t"H-b8cef60300000030"[1](b8cef60300000031) \t\t# "gpu-0102 mlx5_1" lid 31 4xNDR

vendid=0x2c9
devid=0x101b
caguid=0xb8cef60300000020
Ca\t1 "H-b8cef60300000020"\t\t# "gpu-0102 mlx5_0"
[1](b8cef60300000021) \t"S-0c42a10300000400"[3]\t\t# lid 27 lmc 0 "MF0;leaf01:MQM8700/U1" lid 11 1xNDR
"""


def test_ibnetdiscover_reads_ndr_and_enhanced_port0() -> None:
    result = parse_ibnetdiscover(SWITCH)
    assert result.problems == []
    switch = {n.guid: n for n in result.nodes}["0x0c42a10300000400"]
    assert switch.enhanced_port0 is True and switch.lid == 11
    assert {(link.width, link.speed) for link in result.links} == {
        (IBWidth.X1, IBSpeed.NDR),
        (IBWidth.X4, IBSpeed.NDR),
    }
    # the CA of port 4 has no record here: the link is still known (its port GUID is printed)
    assert len(result.links) == 2


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ('[5]\t"S-0c42a10300000500"[1]\t\t# "x" lid 3 4xQQR', "not an ibnetdiscover line"),
        ('[41]\t"S-0c42a10300000500"[1]\t\t# "x" lid 3 4xEDR', "port 41 but the node has 40"),
        ("[5]\tgarbage", "not an ibnetdiscover line"),
    ],
    ids=["unknown-speed", "port-out-of-range", "garbage"],
)
def test_ibnetdiscover_reports_bad_port_lines(bad: str, why: str) -> None:
    lines = SWITCH.splitlines()
    lines.insert(6, bad)
    result = parse_ibnetdiscover("\n".join(lines))
    assert [line for line, _ in result.problems] == [7]
    assert why in result.problems[0][1]
    assert len(result.links) == 2  # the good lines around it still count


def test_ibnetdiscover_port_line_outside_a_record() -> None:
    text = '[1]\t"S-0c42a10300000500"[1]\t\t# "x" lid 3 4xEDR\n'
    result = parse_ibnetdiscover(text)
    assert result.links == [] and result.ports == []
    assert "outside a node record" in result.problems[0][1]


def test_ibnetdiscover_switch_guid_mismatch_is_refused() -> None:
    text = SWITCH.replace("switchguid=0xc42a10300000400(", "switchguid=0xc42a10300000999(")
    result = parse_ibnetdiscover(text)
    assert result.problems and "does not match the node id" in result.problems[0][1]
    assert "0x0c42a10300000400" not in {n.guid for n in result.nodes}


def test_ibnetdiscover_link_to_a_switch_without_record_is_a_warning() -> None:
    text = (
        'Switch\t8 "S-0000000000000001"\t\t# "a" base port 0 lid 1 lmc 0\n'
        '[1]\t"S-0000000000000002"[1]\t\t# "b" lid 2 4xEDR\n'
    )
    result = parse_ibnetdiscover(text)
    assert result.problems == [] and result.links == []
    assert "port GUID of S-0x0000000000000002 port 1 is not in" in result.warnings[0][1]


LINKINFO = """\
Switch: 0x0c42a10300000400 MF0;leaf01:MQM8700/U1:
          11    1[  ] ==( 4X        53.125 Gbps Active/  LinkUp)==>      19    1[  ] "gpu-0101 mlx5_0" (Could be 12X )
          11    2[  ] ==( 2X       106.25 Gbps   Armed/  LinkUp)==>      23    1[  ] "gpu-0101 mlx5_1" (Could be 4X Could be 212.5 Gbps)
          11    3[  ] ==( 4X    10.0 Gbps (FDR10) Active/  LinkUp)==>      27    1[  ] "gpu-0102 mlx5_0" ( )
          11    4[  ] ==( 4X           10.0 Gbps Active/  LinkUp)==>      31    1[  ] "gpu-0102 mlx5_1" (Could be FDR10 (Found link at QDR but expected speed is FDR10))
          11    5[  ] ==(                Down/Disabled)==>             [  ] "" ( )
          11    6[  ] ==( 4X        53.125 Gbps Active/  LinkUp) (HOQ:18 VL_Stall:7)==>      35    1[  ] "gpu-0103 mlx5_0" ( )
          11    7[  ] ==( 4X     14.0625 Gbps  Initialize/  LinkUp)==>    "Port not available"
"""


def test_iblinkinfo_states_speeds_and_hints() -> None:
    result = parse_iblinkinfo(LINKINFO)
    assert result.problems == []
    ports = {p.port: p for p in result.ports}
    assert (ports[1].width, ports[1].speed, ports[1].width_could_be) == (
        IBWidth.X4,
        IBSpeed.HDR,
        IBWidth.X12,
    )
    assert ports[2].state is IBPortState.ARMED
    assert (ports[2].width, ports[2].speed) == (IBWidth.X2, IBSpeed.NDR)
    assert (ports[2].width_could_be, ports[2].speed_could_be) == (IBWidth.X4, IBSpeed.XDR)
    assert ports[3].speed is IBSpeed.FDR10 and not ports[3].degraded
    assert (ports[4].speed, ports[4].speed_could_be) == (IBSpeed.QDR, IBSpeed.FDR10)
    assert (ports[5].state, ports[5].phys_state) == (IBPortState.DOWN, IBPhysState.DISABLED)
    assert ports[6].speed is IBSpeed.HDR  # the --switch-settings suffix is understood
    assert (ports[7].state, ports[7].speed) == (IBPortState.INIT, IBSpeed.FDR)
    # the peers (HCAs) are not in this output: their links are left out, and said so
    assert result.links == [] and len(result.warnings) == 5


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (
            '          11    8[  ] ==( 4X        53.125 Gbps Dancing/  LinkUp)==>      1    1[  ] "x" ( )',
            "unknown port state",
        ),
        (
            '          11    8[  ] ==( 4X        53.0 Gbps Active/  LinkUp)==>      1    1[  ] "x" ( )',
            "unknown lane rate",
        ),
        (
            '          11    8[  ] ==( 4X        53.125 Gbps Active/  LinkUp)==>      1    1[  ] "x" (Might be 8X)',
            "unknown hint",
        ),
        (
            '          11    1[  ] ==( 4X        53.125 Gbps Active/  LinkUp)==>      1    1[  ] "x" ( )',
            "listed twice",
        ),
    ],
    ids=["state", "rate", "hint", "duplicate"],
)
def test_iblinkinfo_reports_bad_lines(bad: str, why: str) -> None:
    result = parse_iblinkinfo(LINKINFO + bad + "\n")
    assert [line for line, _ in result.problems] == [9]
    assert why in result.problems[0][1]
    assert len(result.ports) == 7


def test_iblinkinfo_port_before_header() -> None:
    result = parse_iblinkinfo(LINKINFO.split("\n", 1)[1])
    assert result.ports == [] and len(result.problems) == 7
    assert "before any Switch:/CA: header" in result.problems[0][1]


def test_perfquery_block_rules() -> None:
    text = (
        "SymbolErrorCounter:..............1\n"
        "# Port counters: Lid 5 port 255 (CapMask: 0x1600)\n"
        "SymbolErrorCounter:..............3\n"
        "PortSwLifetimeLimitDiscards:.....4\n"
        "SymbolErrorCounter:..............9\n"
        "# Port extended counters: Lid 5 port 1 (CapMask: 0x1600 CapMask2: 0x0000000)\n"
    )
    result = parse_perfquery(text)
    assert [line for line, _ in result.problems] == [1, 5, 6]
    [counters] = result.counters
    assert (counters.port, counters.symbol_errors) == (None, 3)  # port 255: all ports
    assert "PortSwLifetimeLimitDiscards is not kept" in result.warnings[0][1]


def test_ibqueryerrors_unreadable_counters() -> None:
    text = (
        'Errors for "h1 mlx5_0"\n'
        "   GUID 0x1 port 1: [SymbolErrorCounter == 3] [oops]\n"
        "   GUID 0x1 port 2: [PortXmitData == 1024 (4.000KB)] [PortRcvErrors == 2]\n"
        "   something else\n"
    )
    result = parse_ibqueryerrors(text)
    assert [line for line, _ in result.problems] == [2, 4]
    [counters] = result.counters
    assert (counters.port_guid, counters.port) == ("0x0000000000000001", 2)
    assert (counters.xmit_data, counters.rcv_errors) == (1024, 2)


def test_ibstat_and_ibstatus_report_unknown_lines() -> None:
    stat = parse_ibstat("garbage\nCA 'mlx5_0'\n\tPort 1:\n\t\tState: Sleeping\n\t\tRate: 400\n")
    assert [line for line, _ in stat.problems] == [1, 4]
    assert stat.adapters[0].ports[0].rate_gbps == 400 and stat.adapters[0].ports[0].state is None
    status = parse_ibstatus(
        "Infiniband device 'mlx5_0' port 1 status:\n\trate:\t\t 400 Gb/sec (4X NDR)\n"
        "\tstate:\t\t 9: WEIRD\n\tbase lid:\t unknown\n"
    )
    assert [line for line, _ in status.problems] == [3]
    [port] = status.adapters[0].ports
    assert (port.width, port.speed, port.lid) == (IBWidth.X4, IBSpeed.NDR, None)


def test_sdr_rate_from_sysfs_names_no_generation() -> None:
    status = parse_ibstatus("Infiniband device 'mlx4_0' port 2 status:\n\trate:\t 10 Gb/sec (4X)\n")
    [port] = status.adapters[0].ports
    assert (port.width, port.speed, port.rate_gbps) == (IBWidth.X4, IBSpeed.SDR, 10.0)


@pytest.mark.parametrize(
    "parser",
    [
        parse_ibnetdiscover,
        parse_iblinkinfo,
        parse_perfquery,
        parse_ibqueryerrors,
        parse_ibstat,
        parse_ibstatus,
    ],
    ids=["ibnetdiscover", "iblinkinfo", "perfquery", "ibqueryerrors", "ibstat", "ibstatus"],
)
def test_bounds(parser) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FabricInputError, match="lines"):
        parser("\n" * (MAX_INPUT_LINES + 1))
    with pytest.raises(FabricInputError, match="UTF-8"):
        parser(b"\xff\xfe not text")
    long = parser("x" * (MAX_LINE_CHARS + 1) + "\n")
    assert "longer than" in long.problems[0][1]


def test_size_bound() -> None:
    with pytest.raises(FabricInputError, match="larger than"):
        parse_ibnetdiscover(b" " * (MAX_INPUT_BYTES + 1))
