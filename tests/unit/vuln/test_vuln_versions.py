"""Each vendor's version order, against tables worked out by hand from the vendors' own
release numbering (the release notes' ordering of trains, rebuilds and service releases)."""

from __future__ import annotations

import pytest
from network_discovery.vuln.versions import compare, family_of, parse, same_release

# (family, a, b, expected compare(a, b)): -1 older, 0 same release, 1 newer, None unordered
TABLE = [
    # IOS: one train orders by release, its rebuild letter, then the rebuild number and letter
    ("ios", "15.2(4)E10", "15.2(4)E9", 1),
    ("ios", "15.2(4)E9", "15.2(4)E10", -1),
    ("ios", "15.2(4)E10", "15.2(5)E", -1),
    ("ios", "15.2(6)E0a", "15.2(6)E", 1),
    ("ios", "15.2(6)E0c", "15.2(6)E0a", 1),
    ("ios", "15.2(2a)E1", "15.2(2)E1", 1),
    ("ios", "15.2(7)E8", "15.2(7)E8", 0),
    ("ios", "15.6(2)T", "15.6(2)T1", -1),
    ("ios", "15.7(3)M3", "15.7(3)M10", -1),
    ("ios", "12.2(55)SE13", "12.2(55)SE9", 1),
    ("ios", "12.4(25e)JAN2", "12.4(25e)JAN1", 1),
    ("ios", "15.2(4)e10", "15.2(4)E10", 0),  # NVD writes trains in lower case
    # different trains do not order, however close the numbers
    ("ios", "15.2(4)S5", "15.2(4)E5", None),
    ("ios", "15.6(2)T", "15.6(2)M", None),
    ("ios", "15.2(7)E8", "15.3(1)E", None),
    # IOS XE 16/17: every release orders; the letter is a rebuild of that release
    ("ios_xe", "16.04.01", "16.4.1", 0),
    ("ios_xe", "16.4.1", "16.4.2", -1),
    ("ios_xe", "16.12.1s", "16.12.1", 1),
    ("ios_xe", "16.12.10", "16.12.9", 1),
    ("ios_xe", "17.9.4a", "17.9.4", 1),
    ("ios_xe", "17.3.8", "17.10.1", -1),
    ("ios_xe", "16.12.10", "17.1.1", -1),
    # IOS XE 3.x: trains (E, SE, SG) order only within themselves
    ("ios_xe", "3.6.5bE", "3.6.5E", 1),
    ("ios_xe", "3.6.5be", "3.6.5bE", 0),
    ("ios_xe", "3.6.5E", "3.7.0E", -1),
    ("ios_xe", "3.4.8SG", "3.6.0E", None),
    # NX-OS: major.minor(maintenance[letter]); 7.0(3)I7(8) is a sub-train
    ("nxos", "9.3(5)", "9.3(10)", -1),
    ("nxos", "9.3(10)", "9.3(9)", 1),
    ("nxos", "10.3(4a)", "10.3(4)", 1),
    ("nxos", "10.3(4a)", "10.3(9)", -1),
    ("nxos", "9.2(3)", "9.3(1)", -1),
    ("nxos", "10.2(1)F", "10.2(1)", 0),
    ("nxos", "7.0(3)I7(8)", "7.0(3)I7(9)", -1),
    ("nxos", "7.0(3)I7(8)", "9.3(5)", -1),
    ("nxos", "7.0(3)I7(8)", "7.0(3)F3(4)", None),
    # EOS: numbers order, the release type (F, M) does not
    ("eos", "4.30.4M", "4.30.2F", 1),
    ("eos", "4.28.3M", "4.28.4m", -1),
    ("eos", "4.23.0.1F", "4.23", 1),
    ("eos", "4.23.0.1F", "4.23.13m", -1),
    ("eos", "4.21.1.1F", "4.23", -1),
    ("eos", "4.28.0F", "4.28.0", 0),
    # Junos: major.minor first; within one, R then -S; X trains by -D
    ("junos", "21.4R3-S2", "21.4R3-S5", -1),
    ("junos", "21.4R3-S5.4", "21.4R3-S5", 0),
    ("junos", "21.4R3", "21.4R3-S1", -1),
    ("junos", "21.4R2-S2", "21.4R3", -1),
    ("junos", "21.4R3-S1", "22.1R1", -1),
    ("junos", "17.4R1.16", "20.4R3-S9", -1),
    ("junos", "21.4", "21.4R1", -1),
    ("junos", "21.4R1", "21.4", 1),
    ("junos", "12.1X46-D15.3", "12.1X46-D20", -1),
    ("junos", "12.1X46-D15.3", "20.4R3-S9", -1),
    ("junos", "12.1X46-D15", "12.1R1", None),
    ("junos", "15.1X49-D200", "15.1X53-D50", None),
]


@pytest.mark.parametrize(
    ("family", "a", "b", "expected"), TABLE, ids=[f"{f}:{a}~{b}" for f, a, b, _ in TABLE]
)
def test_order(family: str, a: str, b: str, expected: int | None) -> None:
    va, vb = parse(family, a), parse(family, b)
    assert va is not None and vb is not None, (a, b)
    assert compare(va, vb) == expected


NOT_VERSIONS = [
    ("ios", "16.4.1"),
    ("ios", "15.2"),
    ("ios_xe", "15.2(4)E10"),
    ("nxos", "9.3"),
    ("eos", "4.29.2F-EFT1"),
    ("junos", "21.4R3-S2-EVO"),
    ("junos", "release 21"),
    ("junos", ""),
    ("eos", "4." + "1" * 80),
]


@pytest.mark.parametrize(
    ("family", "text"), NOT_VERSIONS, ids=[f"{f}:{t[:20]}" for f, t in NOT_VERSIONS]
)
def test_what_is_not_a_version_of_the_family(family: str, text: str) -> None:
    assert parse(family, text) is None


def test_a_version_with_words_after_it_is_read() -> None:
    found = parse("nxos", "10.3(4a) [Maintenance Release]")
    assert found is not None and found.text == "10.3(4a)"


SAME_RELEASE = [
    ("junos", "22.4R2-S1", "22.4R2-S2", True),
    ("junos", "22.4R2-S1", "22.4R3", False),
    ("ios", "15.2(4)E9", "15.2(4)E10", True),
    ("eos", "4.28.3M", "4.28.3.1M", True),
    ("eos", "4.28.3M", "4.28.4M", False),
]


@pytest.mark.parametrize(
    ("family", "a", "b", "expected"),
    SAME_RELEASE,
    ids=[f"{f}:{a}~{b}" for f, a, b, _ in SAME_RELEASE],
)
def test_same_release(family: str, a: str, b: str, expected: bool) -> None:
    va, vb = parse(family, a), parse(family, b)
    assert va is not None and vb is not None
    assert same_release(va, vb) is expected


FAMILIES = [
    ("cisco_ios", "15.2(4)S5", "ios"),
    ("cisco_ios", "16.4.1", "ios_xe"),
    ("cisco_ios", "03.06.05E", "ios_xe"),
    ("cisco_ios", None, None),
    ("cisco_nxos", "9.2(3)", "nxos"),
    ("arista_eos", "4.30.4M", "eos"),
    ("juniper_junos", "21.4R3-S5.4", "junos"),
    ("juniper_junos", "21.4R3-S2-EVO", None),
    ("cisco_asa", "9.16(4)", None),
    (None, "1.0", None),
]


@pytest.mark.parametrize(
    ("platform", "version", "family"), FAMILIES, ids=[f"{p}:{v}" for p, v, _ in FAMILIES]
)
def test_family_of_a_device(platform: str | None, version: str | None, family: str | None) -> None:
    assert family_of(platform, version) == family
