"""Ansible host ranges: ``sw[01:10].example.com``, ``10.0.0.[1:5]``, ``rack-[a:c]``,
``edge[1:10:2]``, several in one name (``dc[1:2]-sw[01:04]``).

The rules are Ansible's (``expand_hostname_range`` in ansible-core, and its inventory guide):
``[begin:end]`` or ``[begin:end:step]``, both ends included; an empty begin is 0; a begin
written with a leading zero pads every number to its width, and then end must have the same
width; single letters count through ``a``-``z`` then ``A``-``Z``. Written here rather than
imported so that the product does not need ansible-core at run time; a test checks that both
expand the same. Where Ansible would quietly expand to nothing or fail with a traceback (begin
after end, a zero or negative step, ``[1:c]``), this refuses the pattern with a message instead.

A host pattern may end in ``:PORT`` (``sw1:2222``, ``10.0.0.[1:3]:2222``, ``[2001:db8::1]:2222``
for IPv6): :func:`split_host_port` follows ansible-core's ``parse_address``, including its quirk
that a pattern it does not recognise as a host name, IPv4 or IPv6 address is kept whole, as the
host's name, with no port.
"""

from __future__ import annotations

import re
import string

__all__ = ["MAX_HOSTS", "HostRangeError", "expand_host_range", "has_range", "split_host_port"]

#: More hosts than this from one pattern is a typo (``[1:100000]``), not an inventory.
MAX_HOSTS = 65_536
_NUMBER = re.compile(r"\d+")

# What parse_address accepts as a host once a port is split off. A name is dot-separated labels
# of word characters and '-' (not ending in '-' or '_'), each part possibly a range; an IPv4
# address is such a name too. IPv6 groups are 1-4 hex digits or a hex range.
_NAME_RANGE = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]"
_LABEL = rf"(?:\w|{_NAME_RANGE})(?:[\w-]|{_NAME_RANGE})*(?<![_-])"
_HOST_NAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$", re.I)
_G = r"(?:[0-9a-f]{1,4}|\[[0-9a-f]+:[0-9a-f]+(?::[0-9]+)?\])"
_V4 = rf"(?:{_G}\.){{3}}{_G}"
_IPV6 = re.compile(
    "^(?:"
    + "|".join(
        [
            rf"(?:{_G}:){{7}}{_G}",
            rf"(?:{_G}:){{1,6}}:",
            *(rf"(?:{_G}:){{{head}}}(?::{_G}){{1,{7 - head}}}" for head in range(1, 7)),
            rf":(?::{_G}){{1,6}}",
            rf"{_G}?::",
            rf"(?:0:){{6}}{_V4}",
            rf"::(?:ffff:)?{_V4}",
            rf"(?:0:){{5}}ffff:{_V4}",
        ]
    )
    + ")$",
    re.I,
)
_BRACKETED_PORT = re.compile(r"^\[(.+)\]:([0-9]+)$")
_TRAILING_PORT = re.compile(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$")


class HostRangeError(ValueError):
    """A host pattern that cannot be expanded; the message says why."""


def has_range(name: str) -> bool:
    return "[" in name


def split_host_port(pattern: str) -> tuple[str, int | None]:
    """``pattern`` as (host pattern, port or None), as Ansible's inventory plugins split it."""
    host, port = pattern, None
    for form in (_BRACKETED_PORT, _TRAILING_PORT):
        match = form.match(host)
        if match:
            host, port = match[1], int(match[2])
    if _HOST_NAME.match(host) or _IPV6.match(host):
        return host, port
    return pattern, None


def _sequence(text: str, pattern: str) -> list[str]:
    bounds = text.split(":")
    if len(bounds) not in (2, 3):
        raise HostRangeError(f"{pattern!r}: a range is [begin:end] or [begin:end:step]")
    begin, end = bounds[0] or "0", bounds[1]
    step_text = bounds[2] if len(bounds) == 3 else "1"
    if not end:
        raise HostRangeError(f"{pattern!r}: the range has no end")
    if not _NUMBER.fullmatch(step_text) or int(step_text) < 1:
        raise HostRangeError(f"{pattern!r}: the step must be a whole number of 1 or more")
    step = int(step_text)
    letters = string.ascii_letters
    if len(begin) == 1 and len(end) == 1 and begin in letters and end in letters:
        first, last = letters.index(begin), letters.index(end)
        if first > last:
            raise HostRangeError(f"{pattern!r}: {begin!r} comes after {end!r}")
        return list(letters[first : last + 1 : step])
    if not (_NUMBER.fullmatch(begin) and _NUMBER.fullmatch(end)):
        raise HostRangeError(f"{pattern!r}: a range runs between two numbers or two single letters")
    if int(begin) > int(end):
        raise HostRangeError(f"{pattern!r}: {begin} is larger than {end}")
    if (int(end) - int(begin)) // step + 1 > MAX_HOSTS:
        raise HostRangeError(f"{pattern!r}: more than {MAX_HOSTS} hosts in one range")
    if begin[0] == "0" and len(begin) > 1:
        if len(begin) != len(end):
            raise HostRangeError(
                f"{pattern!r}: a zero-padded range needs begin and end of the same width"
            )
        return [str(n).zfill(len(begin)) for n in range(int(begin), int(end) + 1, step)]
    return [str(n) for n in range(int(begin), int(end) + 1, step)]


def expand_host_range(pattern: str) -> list[str]:
    """Every host name ``pattern`` stands for, in Ansible's order."""
    if not has_range(pattern):
        return [pattern]
    head, _, rest = pattern.partition("[")
    inner, closed, tail = rest.partition("]")
    if not closed:
        raise HostRangeError(f"{pattern!r}: '[' without a closing ']'")
    out: list[str] = []
    for item in _sequence(inner, pattern):
        out.extend(expand_host_range(f"{head}{item}{tail}"))
        if len(out) > MAX_HOSTS:
            raise HostRangeError(f"{pattern!r}: more than {MAX_HOSTS} hosts")
    return out
