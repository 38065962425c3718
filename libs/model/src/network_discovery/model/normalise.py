"""Normalisation of the natural keys the model is built on.

Devices, CLIs and neighbour protocols spell the same thing in many ways: a MAC address as
``aabb.ccdd.eeff`` or ``AA-BB-CC-DD-EE-FF``, an interface as ``Gi1/0/1`` or
``GigabitEthernet1/0/1``, a host as ``CORE-01`` or ``core-01.example.net``. Every model field
that is a key goes through one of these functions, so that two observations of the same thing
end up with the same id.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

__all__ = [
    "INTERFACE_ALIASES",
    "canonical_interface_name",
    "hostname_slug",
    "normalise_address",
    "normalise_asn",
    "normalise_hostname",
    "normalise_interface_address",
    "normalise_mac",
    "normalise_network",
    "parse_vlan_ranges",
    "short_hostname",
]

# --- MAC addresses --------------------------------------------------------------------

_HEX = frozenset("0123456789abcdef")
_MAC_HINT = "aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, aabb.ccdd.eeff or aabbccddeeff"


_MAC_CANONICAL = re.compile(r"^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$")
_MAC_COMMON = re.compile(
    r"^(?:[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}"
    r"|[0-9a-f]{4}([.-])[0-9a-f]{4}\2[0-9a-f]{4}"
    r"|[0-9a-f]{12})$"
)


def normalise_mac(value: str) -> str:
    """Return ``value`` as a lower-case, colon-separated MAC (``aa:bb:cc:dd:ee:ff``).

    Accepts six groups of one or two hex digits separated by ``:`` or ``-``, three groups of
    four separated by ``.`` or ``-`` (Cisco, HPE), two groups of six, or twelve bare digits.
    Raises :class:`ValueError` naming the value otherwise.
    """
    if not isinstance(value, str):
        raise ValueError(f"invalid MAC address {value!r}: expected a string such as {_MAC_HINT}")
    if _MAC_CANONICAL.match(value):  # already normalised: the common case on hot paths
        return value
    text = value.strip().lower()
    if _MAC_COMMON.match(text):
        digits = text.replace(":", "").replace("-", "").replace(".", "")
    else:
        digits = _mac_digits(text)
    if len(digits) != 12:
        raise ValueError(f"invalid MAC address {value!r}: expected 12 hex digits as {_MAC_HINT}")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _mac_digits(text: str) -> str:
    """The twelve digits of a less common notation, or "" when it is not a MAC."""
    seps = {c for c in text if c not in _HEX}
    groups: list[str]
    if not seps:
        groups = [text]
    elif len(seps) == 1 and seps <= {":", "-", "."}:
        groups = text.split(seps.pop())
    else:
        return ""
    digits = ""
    if len(groups) == 6 and all(1 <= len(g) <= 2 for g in groups):
        digits = "".join(g.rjust(2, "0") for g in groups)
    elif len(groups) in (1, 2, 3) and all(len(g) == 12 // len(groups) for g in groups):
        digits = "".join(groups)
    return digits if len(digits) == 12 and set(digits) <= _HEX else ""


# --- host names -----------------------------------------------------------------------

_MAX_NAME = 255
#: What a device's name may hold: the letters, digits, ``-``, ``_`` and ``.`` of host names and
#: FQDNs, and ``:`` for the ids of neighbours known by chassis id or address
#: (``chassis:aa:bb:..``, ``ip:2001:db8::1``). Nothing a shell, an INI file or a template
#: would read as syntax: no spaces, quotes, ``=``, ``;``, ``$``, ``/``.
_NAME = re.compile(r"^[a-z0-9_](?:[a-z0-9._:-]*[a-z0-9_:])?$")
_NAME_RUNS = re.compile(r"[^a-z0-9._:-]+")


def normalise_hostname(value: str) -> str:
    """Lower-case, trimmed host name without a trailing dot: the device's id.

    The domain is kept (``core-01.example.net`` and ``core-01`` are different keys); use
    :func:`short_hostname` to compare a neighbour's FQDN with a collected device's name.
    """
    if not isinstance(value, str):
        raise ValueError(f"invalid host name {value!r}: expected a string")
    if len(value) > _MAX_NAME:
        raise ValueError(f"invalid host name {value[:40]!r}...: longer than 255 characters")
    return _hostname(value)


@lru_cache(maxsize=65536)
def _hostname(value: str) -> str:
    text = value.strip().rstrip(".").lower()
    if not text:
        raise ValueError("invalid host name: it is empty")
    if not _NAME.match(text) or ".." in text:
        shown = text[:60].encode("unicode_escape").decode("ascii")
        raise ValueError(
            f"invalid host name {shown!r}: only letters, digits, '-', '_', '.' and ':' are "
            "allowed (no spaces, quotes, '=', ';', '$', '/' or '..')"
        )
    return text


def hostname_slug(value: str) -> str | None:
    """A name that is not a valid host name (a neighbour's ``HP ProCurve 2510``) as one that
    is (``hp-procurve-2510``), or None when nothing of it is left."""
    text = _NAME_RUNS.sub("-", value.strip().lower()).strip("-.:")
    text = re.sub(r"\.{2,}", ".", text)[:_MAX_NAME]
    try:
        return normalise_hostname(text) if text else None
    except ValueError:
        return None


def short_hostname(value: str) -> str:
    """The first label of a normalised host name (``Core-01.example.net`` -> ``core-01``).

    An IP address is returned whole rather than cut at its first dot.
    """
    name = normalise_hostname(value)
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return name.split(".", 1)[0]
    return name


# --- IP addresses ---------------------------------------------------------------------


def normalise_address(value: str) -> str:
    """An IPv4 or IPv6 host address in its canonical text form (no prefix length)."""
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise ValueError(f"invalid IP address {value!r}: expected IPv4 or IPv6") from None


def normalise_interface_address(value: str) -> str:
    """An address with its prefix length (``10.0.0.1/24``, ``2001:db8::1/64``), canonical."""
    text = str(value).strip()
    if "/" not in text:
        raise ValueError(
            f"invalid interface address {value!r}: give the prefix length, e.g. 10.0.0.1/24"
        )
    try:
        return str(ipaddress.ip_interface(text))
    except ValueError:
        raise ValueError(
            f"invalid interface address {value!r}: expected IPv4 or IPv6 with a prefix length"
        ) from None


@lru_cache(maxsize=65536)
def normalise_network(value: str) -> str:
    """A subnet in CIDR form (``10.0.0.0/24``); host bits must be zero."""
    try:
        return str(ipaddress.ip_network(str(value).strip(), strict=True))
    except ValueError as exc:
        raise ValueError(f"invalid subnet {value!r}: {exc}") from None


# --- AS numbers and VLAN lists --------------------------------------------------------

_ASN_MAX = 4_294_967_295


def normalise_asn(value: int | str) -> int:
    """An AS number as an int; accepts asplain (``65001``) and asdot (``1.10``) text."""
    if isinstance(value, bool):
        raise ValueError(f"invalid AS number {value!r}")
    if isinstance(value, int):
        asn = value
    else:
        text = str(value).strip().upper().removeprefix("AS")
        high, dot, low = text.partition(".")
        parts = (high, low) if dot else (text,)
        digits = all(p.isascii() and p.isdigit() for p in parts)
        if not digits or (dot and max(int(high), int(low)) > 65535):
            raise ValueError(f"invalid AS number {value!r}: expected e.g. 65001 or 1.10")
        asn = (int(high) << 16) + int(low) if dot else int(text)
    if not 0 < asn <= _ASN_MAX:
        raise ValueError(f"invalid AS number {value!r}: must be between 1 and {_ASN_MAX}")
    return asn


def parse_vlan_ranges(text: str) -> tuple[int, ...]:
    """Expand a VLAN list as devices print it (``"1-3,10, 20-21"``) into sorted VLAN ids."""
    vlans: set[int] = set()
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        low, dash, high = part.partition("-")
        try:
            first, last = int(low), int(high) if dash else int(low)
        except ValueError:
            raise ValueError(
                f"invalid VLAN list {text!r}: {part!r} is not a VLAN or a range"
            ) from None
        if not 1 <= first <= last <= 4094:
            raise ValueError(f"invalid VLAN list {text!r}: {part!r} is outside 1-4094")
        vlans.update(range(first, last + 1))
    return tuple(sorted(vlans))


# --- interface names ------------------------------------------------------------------

#: Canonical interface type -> the spellings vendors use for it (lower case). The left-hand
#: spelling is what the model stores; every alias on the right is read as that type.
INTERFACE_ALIASES: dict[str, tuple[str, ...]] = {
    "GigabitEthernet": ("gi", "gig", "gige", "gigabit", "gigabitethernet", "gigethernet"),
    "TwoGigabitEthernet": ("tw", "two", "twogig", "twogige", "twogigabitethernet"),
    "FiveGigabitEthernet": ("fi", "five", "fivegig", "fivegige", "fivegigabitethernet"),
    "TenGigabitEthernet": ("te", "ten", "tengig", "tengige", "tengigabitethernet"),
    "TwentyFiveGigE": ("twe", "twentyfivegige", "twentyfivegigabitethernet"),
    "FortyGigabitEthernet": ("fo", "for", "fortygig", "fortygige", "fortygigabitethernet"),
    "HundredGigE": ("hu", "hun", "hundredgig", "hundredgige", "hundredgigabitethernet"),
    "FourHundredGigE": ("fh", "fourhundredgige"),
    "FastEthernet": ("fa", "fas", "fastethernet"),
    "Ethernet": ("e", "et", "eth", "ether", "ethernet"),
    "Port-channel": ("po", "port-channel", "portchannel", "port-chan"),
    "Bundle-Ether": ("be", "bundle-ether"),
    "Management": ("ma", "man", "mgt", "management"),
    "mgmt": ("mgmt",),
    "MgmtEth": ("mgmteth",),
    "Vlan": ("vl", "vlan", "vlanif"),
    "Loopback": ("lo", "loop", "loopback"),
    "Tunnel": ("tu", "tun", "tunnel"),
    "Serial": ("se", "ser", "serial"),
    "AppGigabitEthernet": ("ap", "appgigabitethernet"),
    "BDI": ("bdi",),
    "nve": ("nve",),
}
_ALIAS_TO_CANONICAL = {a: c for c, aliases in INTERFACE_ALIASES.items() for a in aliases}

# Junos physical ports (``xe-0/0/1``, ``et-0/0/0:2``) and logical interfaces (``ae0``,
# ``irb.100``); a unit ``.0`` is the default logical unit of a port and folds into it.
_JUNOS_PORT = re.compile(r"^(?P<base>[a-z]{2,4}-\d+/\d+/\d+(?::\d+)?)(?:\.(?P<unit>\d+))?$", re.I)
_JUNOS_LOGICAL = re.compile(
    r"^(?P<base>(?:ae|reth|lo|em|fxp|me|vme|st|gr|lt|irb|vlan|jsrv)\d*)(?:\.(?P<unit>\d+))?$",
    re.I,
)
_JUNOS_UNIT_ONLY = frozenset({"irb", "vlan", "jsrv"})
# Names that look like an alias but are a host's own (Linux ``eth0``): kept as they are.
_VERBATIM = re.compile(r"^(?:eth\d+|en[a-z]\w*|wlan\d+|bond\d+)$")
# A port id that is really a MAC address (phones, servers) is not an interface type.
_MAC_LIKE = re.compile(
    r"^(?:[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}|[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}|[0-9a-f]{12})$",
    re.I,
)
_CISCO_STYLE = re.compile(r"^(?P<kind>[A-Za-z][A-Za-z_-]*?)\s*(?P<rest>\d[\w/:.-]*)$")
# A tunnel named with its far end, as NX-OS prints VXLAN MACs (``nve1(10.0.0.134)``): the
# interface is the tunnel; the peer in brackets is not part of its name.
_TUNNEL_PEER = re.compile(r"^(?P<base>(?:nve|vxlan|vx|tunnel|tu)\s*\d+)\s*\([^()]*\)$", re.I)


def _junos(name: str, *, logical: bool) -> str | None:
    match = (_JUNOS_LOGICAL if logical else _JUNOS_PORT).match(name)
    if match is None:
        return None
    base, unit = match["base"].lower(), match["unit"]
    if base in _JUNOS_UNIT_ONLY:
        return f"{base}.{unit}" if unit is not None else base
    if unit is None or unit == "0":
        return base
    return f"{base}.{unit}"


def canonical_interface_name(name: str, platform: str | None = None) -> str:
    """The one spelling of an interface name that the model stores and keys on.

    ``Gi0/1``, ``Gig 0/1`` and ``GigabitEthernet0/1`` all become ``GigabitEthernet0/1``;
    ``Et1`` and ``Eth1/1`` become ``Ethernet1`` and ``Ethernet1/1``; ``Po1`` becomes
    ``Port-channel1``; Junos ``xe-0/0/1.0`` becomes ``xe-0/0/1`` (other units, like Cisco
    sub-interfaces, are kept). Names of unknown types are returned trimmed, unchanged.

    ``platform`` (e.g. ``juniper_junos``) settles the few names that differ by vendor:
    without it, an all-lower-case ``lo0`` is read as Junos and ``Lo0`` as Cisco
    ``Loopback0``. A tunnel printed with its far end (NX-OS ``nve1(10.0.0.134)``) is the
    tunnel (``nve1``). The function is idempotent.
    """
    if not isinstance(name, str):
        raise ValueError(f"invalid interface name {name!r}: expected a string")
    if platform is not None and not isinstance(platform, str):
        raise ValueError(f"invalid platform {platform!r}: expected a string")
    if len(name) > _MAX_NAME:
        raise ValueError(
            f"invalid interface name {name[:40]!r}...: longer than {_MAX_NAME} characters"
        )
    return _canonical(name, platform)


@lru_cache(maxsize=65536)
def _canonical(name: str, platform: str | None) -> str:
    text = " ".join(name.split())
    if not text:
        raise ValueError("invalid interface name: it is empty")
    if "|" in text:
        raise ValueError(f"invalid interface name {text!r}: '|' is not allowed")
    tunnel = _TUNNEL_PEER.match(text)
    if tunnel is not None:
        text = tunnel["base"]
    junos = _junos(text, logical=False)
    if junos is not None:
        return junos
    hint = (platform or "").lower()
    if "junos" in hint or (not hint and text == text.lower()):
        junos = _junos(text, logical=True)
        if junos is not None and ("junos" in hint or "." in text or not text.startswith("vlan")):
            return junos
    if _VERBATIM.match(text) or _MAC_LIKE.match(text):
        return text
    match = _CISCO_STYLE.match(text)
    if match is None:
        return text
    canonical = _ALIAS_TO_CANONICAL.get(match["kind"].lower())
    if canonical is None:
        return text
    return canonical + match["rest"]
