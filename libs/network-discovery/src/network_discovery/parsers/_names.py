"""A saved output's name -> the command it holds, by the vendor's own rules.

People and collectors save outputs under many names: ``show_ip_int_br.txt``,
``show ip interface brief.log``, ``show interface | display json | no-more``,
``SHOW_VERSION.json``, ``show_running_config``. A name is read as:

1. its extension dropped (``.txt``, ``.log``, ``.json``, ``.xml``, ``.out``, ``.cli``; any case),
2. split at ``|`` into the command and its pipes; separators are spaces or underscores,
3. trailing pipe words without a ``|`` (``show_version_json``) taken as pipes,
4. each word matched against the platform's command keywords: the whole keyword, or a
   prefix of it that no other keyword at that place in the vendor's CLI starts with
   (``sh ip int br`` on IOS; ``show interface`` for Junos' ``show interfaces``). A keyword
   written with a hyphen also matches its parts (``running_config``); ``<name>`` in a
   command's form takes any one word (a VRF, an interface).

Pipes that only change the format (``json``, ``json native``, ``display json``,
``display xml``, ``no-more``) are dropped: the file's content says which format it is. Pipes
that filter lines (``include``, ``egrep``, ``except``, …) are kept in :attr:`Resolution.filters`
so the reader knows that the output is partial.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from network_discovery.parsers._commands import COMMANDS
from network_discovery.parsers._spec import CommandSpec

__all__ = ["Resolution", "resolve_name"]

_EXTENSIONS = (".txt", ".log", ".json", ".xml", ".out", ".cli", ".text")
_FORMAT_PIPES = frozenset(
    {
        "json",
        "json native",
        "json-pretty",
        "json-pretty native",
        "json pretty",
        "display json",
        "display xml",
        "display json no-more",
        "xml",
        "no-more",
        "display no-more",
        "display inheritance",
    }
)
_FILTER_WORDS = frozenset(
    {
        "include",
        "inc",
        "i",
        "exclude",
        "excl",
        "e",
        "begin",
        "b",
        "section",
        "s",
        "egrep",
        "grep",
        "except",
        "match",
        "find",
        "last",
        "count",
        "trim",
        "head",
        "tail",
    }
)
#: Trailing words of a name saved without its ``|`` (``show_version_json``).
_TRAILING = (
    ("display", "json", "no-more"),
    ("json", "native"),
    ("json-pretty", "native"),
    ("display", "json"),
    ("display", "xml"),
    ("no-more",),
    ("json",),
    ("xml",),
)

#: Keywords of each vendor's CLI beyond the commands read here, so that an abbreviation is
#: accepted only where the real CLI would accept it (``sh ip in`` is ambiguous on IOS:
#: igmp? interface? inspect?).
_CISCO_SHOW = (
    "aaa access-lists adjacency arp bfd bgp boot cdp clock controllers diag environment "
    "etherchannel file flash forwarding hardware hosts hsrp interfaces inventory ip ipv6 isis "
    "lacp license line lldp logging mac mac-address-table memory mlag module monitor mpls ntp "
    "nve platform policy-map port-channel processes protocols redundancy route-map "
    "running-config sessions snmp spanning-tree standby startup-config switch system "
    "tech-support terminal users version vlan vpc vrf vrrp vtp vxlan"
)
_CISCO_SHOW_IP = (
    "access-lists arp bgp cef dhcp eigrp igmp interface inspect mroute nat ospf pim prefix-list "
    "protocols rip route sla ssh traffic virtual-router vrf"
)
_JUNOS_SHOW = (
    "arp bfd bgp chassis class-of-service cli configuration dhcp ethernet-switching evpn "
    "firewall interfaces ipv6 isis lacp ldp lldp log mpls ntp ospf ospf3 pfe policer route "
    "security services snmp spanning-tree system task version vlans vrrp"
)
#: NX-OS says "interface" where IOS says "interfaces", and has no "interfaces" keyword.
_NXOS_SHOW = _CISCO_SHOW.replace(" interfaces ", " interface ")
_EXTRA: dict[str, dict[tuple[str, ...], str]] = {
    "cisco_ios": {("show",): _CISCO_SHOW, ("show", "ip"): _CISCO_SHOW_IP},
    "cisco_nxos": {("show",): _NXOS_SHOW, ("show", "ip"): _CISCO_SHOW_IP},
    "arista_eos": {("show",): _CISCO_SHOW, ("show", "ip"): _CISCO_SHOW_IP},
    "cisco_asa": {("show",): _CISCO_SHOW},
    "juniper_junos": {("show",): _JUNOS_SHOW},
}
_PLACEHOLDER = re.compile(r"^<\w+>$")
#: A ``|`` outside quotes (``| egrep 'a|b'`` is one pipe).
_PIPE = re.compile(r"""\|(?=(?:[^'"]*['"][^'"]*['"])*[^'"]*$)""")


@dataclass(frozen=True)
class Resolution:
    """What a file name says: the command (None when it is none read on the platform), the
    words as written, the pipes, and the line filters among them."""

    spec: CommandSpec | None
    words: tuple[str, ...]
    pipes: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    #: What the form's ``<name>`` places took (``show ip route vrf cust10`` -> ``cust10``):
    #: two outputs of one command with other arguments are two outputs.
    args: tuple[str, ...] = ()

    @property
    def written(self) -> str:
        return " ".join(self.words) + "".join(f" | {p}" for p in self.pipes)


def _split(stem: str) -> tuple[list[str], list[str]]:
    text = stem.strip()
    lowered = text.lower()
    for ext in _EXTENSIONS:
        if lowered.endswith(ext):
            text = text[: -len(ext)]
            break
    parts = _PIPE.split(text)
    words = [w for w in re.split(r"[\s_]+", parts[0].strip().lower()) if w]
    pipes = [" ".join(w for w in re.split(r"[\s_]+", p.strip()) if w) for p in parts[1:]]
    pipes = [p for p in pipes if p]
    trailing: list[str] = []
    changed = True
    while changed and len(words) > 2:
        changed = False
        for tail in _TRAILING:
            if len(words) > len(tail) + 1 and tuple(words[-len(tail) :]) == tail:
                trailing.insert(0, " ".join(tail))
                words = words[: -len(tail)]
                changed = True
                break
    return words, trailing + pipes


def _tokens(command: str) -> tuple[str, ...]:
    return tuple(command.lower().split())


@cache
def _vocabulary(platform: str) -> dict[tuple[str, ...], frozenset[str]]:
    """Every keyword that may follow each known keyword path on the platform."""
    vocab: dict[tuple[str, ...], set[str]] = {}
    for spec in COMMANDS.get(platform, ()):
        for name in spec.names:
            words = _tokens(name.split("|")[0])
            for i, word in enumerate(words):
                if not _PLACEHOLDER.match(word):
                    vocab.setdefault(words[:i], set()).add(word)
    for path, extra in _EXTRA.get(platform, {}).items():
        vocab.setdefault(path, set()).update(extra.split())
    return {k: frozenset(v) for k, v in vocab.items()}


def _abbreviates(word: str, keyword: str, others: frozenset[str]) -> bool:
    if word == keyword:
        return True
    if not keyword.startswith(word):
        return False
    return not any(o != keyword and o.startswith(word) for o in others)


def _match(
    words: list[str],
    i: int,
    form: tuple[str, ...],
    j: int,
    vocab: dict[tuple[str, ...], frozenset[str]],
    args: list[str],
) -> bool:
    """Whether ``words[i:]`` spell ``form[j:]``; the words that ``<name>`` places take are
    appended to ``args``."""
    if j == len(form):
        return i == len(words)
    if i == len(words):
        return False
    keyword = form[j]
    if _PLACEHOLDER.match(keyword):
        if j == len(form) - 1 and len(words) - i > 1:
            # the last word of the command is a name, and the file's underscores cut it up
            # ("show_ip_route_vrf_vrf_100" is VRF vrf_100)
            args.append("_".join(words[i:]))
            return True
        args.append(words[i])
        if _match(words, i + 1, form, j + 1, vocab, args):
            return True
        args.pop()
        return False
    others = vocab.get(form[:j], frozenset())
    if _abbreviates(words[i], keyword, others) and _match(words, i + 1, form, j + 1, vocab, args):
        return True
    if "-" in keyword and "-" not in words[i]:
        parts = keyword.split("-")
        end = i + len(parts)
        if end <= len(words) and words[i : end - 1] == parts[:-1]:
            last = words[end - 1]
            if parts[-1].startswith(last) and _match(words, end, form, j + 1, vocab, args):
                return True
    return False


def _pipe_kind(pipe: str) -> str:
    if pipe in _FORMAT_PIPES:
        return "format"
    first = pipe.split()[0] if pipe.split() else ""
    if first in _FILTER_WORDS or first.startswith(("inc", "exc", "beg", "sec")):
        return "filter"
    return "part"


def resolve_name(platform: str, name: str) -> Resolution:
    """The command that a saved output called ``name`` (with or without its extension)
    holds on ``platform``; ``spec`` is None when the platform's commands have none such."""
    words, pipes = _split(name)
    filters = tuple(p for p in pipes if _pipe_kind(p) == "filter")
    part = [p for p in pipes if _pipe_kind(p) == "part"]
    vocab = _vocabulary(platform)
    specs = COMMANDS.get(platform, ())
    for spec in specs:  # a saved stem of an earlier layout, as it was written
        stem = "_".join(words)
        if not part and (stem == spec.file_stem or stem in spec.aliases):
            return Resolution(spec, tuple(words), tuple(pipes), filters)
    found: dict[CommandSpec, tuple[str, ...]] = {}
    for spec in specs:
        for form in spec.names:
            command, _, form_pipe = form.partition("|")
            wanted = [" ".join(form_pipe.split())] if form_pipe else []
            if part != wanted:
                continue
            args: list[str] = []
            if _match(words, 0, _tokens(command), 0, vocab, args):
                found[spec] = tuple(args)
                break
    if len(found) > 1:  # the exact spelling of one wins over abbreviations of several
        exact = {
            s: a
            for s, a in found.items()
            if any(_tokens(n.split("|")[0]) == tuple(words) for n in s.names)
        }
        found = exact if len(exact) == 1 else found
    if len(found) == 1:
        [(spec, bound)] = found.items()
        return Resolution(spec, tuple(words), tuple(pipes), filters, bound)
    return Resolution(None, tuple(words), tuple(pipes), filters)
