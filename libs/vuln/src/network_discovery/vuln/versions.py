"""Software versions as each vendor numbers them, and how two of them compare.

Every family has its own grammar, and two versions compare only where the vendor's numbering
orders them: ``compare`` answers None where it does not (two different IOS trains, two Junos
X-trains of one release) or where a text is not a version of that family. A caller that gets
None must say "unknown", never guess.

- IOS: ``15.2(4)E10``, ``15.2(2a)E1``, ``15.2(6)E0a``, ``15.7(3)M3``, ``15.6(2)T``,
  ``12.4(25e)JAN2``. A train is ``major.minor`` and the letters after the parenthesis (15.2E,
  15.7M, 15.6T, 12.4 for the mainline); versions compare only within one train, by release,
  its rebuild letter, then the rebuild number and its letter.
- IOS XE: ``17.9.4a``, ``16.12.1s``, ``16.04.01`` (zeros padded, as ``show version`` prints
  it), ``3.6.5bE`` (the 3.x releases carry a train: E, SE, SG, S, XO, JA). 16.x and later all
  compare; 3.x only within a train.
- NX-OS: ``9.3(5)``, ``10.3(4a)``, ``7.0(3)I7(8)`` (a sub-train I7), ``10.4(1)F``; the
  trailing release-type letter (F, M) does not order.
- EOS: ``4.30.4M``, ``4.21.1.1F``, ``4.28.0F``: the numbers order, the release type (F
  feature, M maintenance) does not; an engineering build (``-EFT``, ``-INT``) is unknown.
- Junos: ``21.4R3-S2``, ``21.4R3-S5.4``, ``17.4R1.16``, ``12.1X46-D15.3``, and a bare line
  ``21.4`` (the start of that line, as CVE records write it). Different ``major.minor`` order
  by those alone; within one, an R release orders by its number then its service release
  (``-S``); X trains (``X46``) order only within themselves, by ``-D``. The build after the
  last dot (``.4`` of ``S5.4``) is a respin of the same release and does not order. Junos OS
  Evolved (``-EVO``) is another product, not this family.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "FAMILIES",
    "Family",
    "Version",
    "compare",
    "family_of",
    "parse",
    "same_release",
]

Family = Literal["ios", "ios_xe", "nxos", "eos", "junos"]
FAMILIES: tuple[Family, ...] = ("ios", "ios_xe", "nxos", "eos", "junos")

#: Longest version text read (anything longer is not a version).
MAX_VERSION_CHARS = 64


@dataclass(frozen=True)
class Version:
    family: Family
    text: str
    #: The line within which this version orders; "" where every version of the family does.
    train: str
    key: tuple[int | str, ...]
    major: int
    #: What two versions of the same release (its service releases, rebuilds) share.
    release: tuple[int | str, ...]


_IOS = re.compile(r"(\d+)\.(\d+)\((\d+)([a-z]*)\)([a-z]*)(?:(\d+)([a-z]*))?", re.I)
_XE = re.compile(r"(\d+)\.(\d+)\.(\d+)([a-z]*)", re.I)
_XE3_TRAINS = ("sys", "se", "sg", "sq", "xo", "ja", "e", "s")
_NXOS = re.compile(
    r"(\d+)\.(\d+)\((\d+)([a-z]*)\)(?:([a-z]+)(\d+)\((\d+)([a-z]*)\))?([a-z]?)", re.I
)
_EOS = re.compile(r"(\d+(?:\.\d+){1,3})([a-z]*)(?:-([\w.-]+))?", re.I)
_JUNOS = re.compile(r"(\d+)\.(\d+)(?:([a-z])(\d+)(?:-([a-z])(\d+))?)?(?:\.(\d+))?", re.I)


def _ios(text: str) -> Version | None:
    m = _IOS.fullmatch(text)
    if m is None:
        return None
    major, minor, rel, rel_letter, train, rebuild, rebuild_letter = m.groups()
    train_name = f"{int(major)}.{int(minor)}{train.upper()}"
    key = (int(rel), rel_letter.lower(), int(rebuild or 0), (rebuild_letter or "").lower())
    return Version("ios", text, train_name, key, int(major), (int(rel), rel_letter.lower()))


def _ios_xe(text: str) -> Version | None:
    m = _XE.fullmatch(text)
    if m is None:
        return None
    major, minor, patch, suffix = int(m[1]), int(m[2]), int(m[3]), m[4]
    train = ""
    letter = suffix.lower()
    if major < 16 and suffix:
        upper = re.search(r"[A-Z]+$", suffix)
        if upper is not None and suffix != suffix.upper():
            train, letter = upper.group().upper(), suffix[: upper.start()].lower()
        else:
            low = suffix.lower()
            for name in _XE3_TRAINS:
                if low.endswith(name) and len(low) - len(name) <= 1:
                    train, letter = name.upper(), low[: len(low) - len(name)]
                    break
            else:
                return None
    key = (major, minor, patch, letter)
    return Version("ios_xe", text, train, key, major, (major, minor, patch))


def _nxos(text: str) -> Version | None:
    m = _NXOS.fullmatch(text)
    if m is None:
        return None
    major, minor, maint, letter, sub, sub_num, sub_patch, sub_letter, _kind = m.groups()
    key: tuple[int | str, ...] = (
        int(major),
        int(minor),
        int(maint),
        letter.lower(),
        int(sub_num or 0),
        int(sub_patch or 0),
        (sub_letter or "").lower(),
    )
    train = (sub or "").upper()
    return Version("nxos", text, train, key, int(major), key[:3])


def _eos(text: str) -> Version | None:
    m = _EOS.fullmatch(text)
    if m is None:
        return None
    numbers, _kind, extra = m.groups()
    if extra and re.search(r"eft|int|beta|rc", extra, re.I):
        return None  # an engineering build: not ordered against releases
    parts = [int(p) for p in numbers.split(".")]
    key = tuple(parts + [0] * (4 - len(parts)))
    return Version("eos", text, "", key, parts[0], key[:3])


def _junos(text: str) -> Version | None:
    if text.upper().endswith("-EVO"):
        return None  # Junos OS Evolved: another product
    m = _JUNOS.fullmatch(text)
    if m is None:
        return None
    major, minor, kind, rel, spin_kind, spin, _build = m.groups()
    kind = (kind or "").upper()
    train = f"X{int(rel)}" if kind == "X" else kind
    key = (int(major), int(minor), kind, int(rel or 0), int(spin or 0))
    if spin_kind and kind == "R" and spin_kind.upper() != "S":
        return None
    return Version("junos", text, train, key, int(major), key[:4])


_PARSERS = {"ios": _ios, "ios_xe": _ios_xe, "nxos": _nxos, "eos": _eos, "junos": _junos}


@functools.lru_cache(maxsize=65536)
def parse(family: str, text: str | None) -> Version | None:
    """``text`` as a version of ``family``, or None when it is not one (answers are kept:
    a scan compares the same advisory versions against every device)."""
    if not text or family not in _PARSERS:
        return None
    words = text.split()
    cleaned = words[0] if words else ""  # "10.3(4a) [Maintenance Release]" names 10.3(4a)
    if not cleaned or len(cleaned) > MAX_VERSION_CHARS:
        return None
    return _PARSERS[family](cleaned)


def _cmp(a: tuple[int | str, ...], b: tuple[int | str, ...]) -> int:
    return (a > b) - (a < b)


def compare(a: Version, b: Version) -> int | None:
    """-1, 0 or 1 as ``a`` is older than, the same release as, or newer than ``b``; None where
    the vendor's numbering does not order the two."""
    if a.family != b.family:
        return None
    if a.family == "junos":
        line = _cmp(a.key[:2], b.key[:2])
        if line != 0:
            return line
        if not a.train or not b.train:  # a bare line ("21.4") is its own start
            return _cmp((bool(a.train),), (bool(b.train),))
        if a.train != b.train:
            return None
        return _cmp(a.key[3:], b.key[3:])
    if a.family == "ios_xe" and (a.major < 16 or b.major < 16):
        if a.train != b.train:
            return None
    elif a.family == "ios":
        if a.train != b.train:
            return None
    elif a.train and b.train and a.train != b.train:
        return None
    return _cmp(a.key, b.key)


def same_release(a: Version, b: Version) -> bool:
    """Whether ``a`` and ``b`` are of one release (differing at most in their service
    release or rebuild): what "prior to 22.4R2-S2" is said of."""
    return a.family == b.family and a.train == b.train and a.release == b.release


def family_of(platform: str | None, version: str | None) -> Family | None:
    """The family a device's software is of, from its parser platform and version; None for
    a platform no advisory here describes. IOS XE reports itself as ``cisco_ios``: a version
    without a parenthesis (16.4.1, 17.9.4a, 03.06.05E) is IOS XE."""
    if platform == "juniper_junos" and version and version.strip().upper().endswith("-EVO"):
        return None  # Junos OS Evolved: a product of its own, not described here
    if platform == "cisco_ios":
        if version and "(" in version:
            return "ios"
        return "ios_xe" if version else None
    return {
        "cisco_xe": "ios_xe",
        "cisco_nxos": "nxos",
        "arista_eos": "eos",
        "juniper_junos": "junos",
    }.get(platform or "")  # type: ignore[return-value]
