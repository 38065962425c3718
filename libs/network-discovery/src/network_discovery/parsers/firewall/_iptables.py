"""``iptables-save`` / ``ip6tables-save`` output: the raw, mangle, nat and filter tables.

Each built-in chain becomes a rule set whose default is the chain policy and which says its
table and hook (``netfilter_table``/``netfilter_hook``), so path analysis can consult a host's
chains in the kernel's order. Filter chains keep their plain names (``FORWARD``); the others
are named after table and chain (``mangle PREROUTING``). Jumps to user chains are flattened:
the user chain's rules are inlined where the jump is, each narrowed by the jump rule's own
conditions (a rule that can then match nothing is left out); an unconditional RETURN ends the
inlined chain; a goto (``-g``) is followed by a rule with the goto's conditions and the chain
policy's verdict, since a packet falling off the end of a goto'd chain gets the policy.
``-i``/``-o`` interfaces are the zones. Targets that only change or log a packet (MARK, TOS,
LOG, CT ...) give no verdict and are passed over; nat-table targets (DNAT, SNAT, MASQUERADE,
REDIRECT) become rules with a translation (``nat``). See docs/firewall-ingest.md for what is
read and what is reported.
"""

from __future__ import annotations

import ipaddress
import shlex
from dataclasses import dataclass, field, replace

from network_discovery.model import (
    BindingDirection,
    FirewallRule,
    FirewallRuleset,
    FirewallZone,
    NatAction,
    NatKind,
    NetfilterHook,
    NetfilterTable,
    PortRange,
    RulesetBinding,
    Service,
)
from network_discovery.model.firewall import NETFILTER_CHAINS
from network_discovery.parsers.firewall._common import LineError, PolicyResult

__all__ = ["parse_iptables"]

#: How each hook is bound in the generic model (for readers that know no hooks).
_DIRECTION = {
    NetfilterHook.PREROUTING: BindingDirection.IN,
    NetfilterHook.INPUT: BindingDirection.LOCAL_IN,
    NetfilterHook.FORWARD: BindingDirection.TRANSIT,
    NetfilterHook.OUTPUT: BindingDirection.LOCAL_OUT,
    NetfilterHook.POSTROUTING: BindingDirection.OUT,
}
_TARGETS = {"ACCEPT": "permit", "DROP": "drop", "REJECT": "reject"}
_NAT_TARGETS = {
    "DNAT": NatKind.DNAT,
    "SNAT": NatKind.SNAT,
    "MASQUERADE": NatKind.MASQUERADE,
    "REDIRECT": NatKind.REDIRECT,
}
#: Where the kernel accepts each translation (a user chain takes its caller's hook).
_NAT_HOOKS = {
    NatKind.DNAT: {NetfilterHook.PREROUTING, NetfilterHook.OUTPUT},
    NatKind.REDIRECT: {NetfilterHook.PREROUTING, NetfilterHook.OUTPUT},
    NatKind.SNAT: {NetfilterHook.POSTROUTING, NetfilterHook.INPUT},
    NatKind.MASQUERADE: {NetfilterHook.POSTROUTING},
}
_IGNORED_MODULES = {"tcp", "udp", "icmp", "icmp6", "multiport", "comment", "state", "conntrack"}
#: Targets that change, mark or log a packet but decide nothing: the packet goes on.
_NO_VERDICT = {
    "LOG", "NFLOG", "ULOG", "MARK", "CONNMARK", "TOS", "TTL", "HL", "DSCP", "ECN", "TCPMSS",
    "NOTRACK", "CT", "CLASSIFY", "SECMARK", "CONNSECMARK", "CHECKSUM", "TRACE", "AUDIT",
    "IDLETIMER", "SET", "TEE", "LED", "RATEEST",
}  # fmt: skip
#: Target options that take no value.
_FLAGS = {"--random", "--random-fully", "--persistent"}
_QUIET_STATES = {"ESTABLISHED", "RELATED", "INVALID", "UNTRACKED"}


@dataclass
class _Rule:
    line: int
    text: str
    chain: str
    index: int
    target: str = ""
    goto: bool = False
    in_if: str | None = None
    out_if: str | None = None
    sources: list[str] = field(default_factory=list)
    destinations: list[str] = field(default_factory=list)
    protocol: str = "any"
    sport: list[PortRange] = field(default_factory=list)
    dport: list[PortRange] = field(default_factory=list)
    icmp_type: int | None = None
    established: bool = False
    comment: str | None = None
    nat_to: str | None = None

    @property
    def conditional(self) -> bool:
        return any(
            (self.in_if, self.out_if, self.sources, self.destinations, self.sport, self.dport)
        ) or (self.protocol != "any" or self.established)


def _ports(text: str) -> list[PortRange]:
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition(":")
        out.append(PortRange(lo=int(lo or 0), hi=int(hi or (65535 if _ else lo))))
    return out


def _read_rule(words: list[str], line: int, text: str, index: int) -> _Rule:
    rule = _Rule(line=line, text=text, chain=words[1], index=index)
    i = 2
    while i < len(words):
        opt = words[i]
        if opt == "!":
            raise LineError("negated matches ('!') are not supported")
        if opt in _FLAGS:
            i += 1
            continue
        arg = words[i + 1] if i + 1 < len(words) else ""
        i += 2
        if opt in ("-i", "--in-interface"):
            rule.in_if = arg
        elif opt in ("-o", "--out-interface"):
            rule.out_if = arg
        elif opt in ("-s", "--source", "--src"):
            rule.sources = [str(ipaddress.ip_network(a, strict=False)) for a in arg.split(",")]
        elif opt in ("-d", "--destination", "--dst"):
            rule.destinations = [str(ipaddress.ip_network(a, strict=False)) for a in arg.split(",")]
        elif opt in ("-p", "--protocol"):
            rule.protocol = arg
        elif opt in ("--dport", "--destination-port", "--dports", "--destination-ports"):
            rule.dport = _ports(arg)
        elif opt in ("--sport", "--source-port", "--sports", "--source-ports"):
            rule.sport = _ports(arg)
        elif opt in ("--icmp-type", "--icmpv6-type"):
            rule.icmp_type = _icmp(arg)
        elif opt == "--comment":
            rule.comment = arg
        elif opt in ("--state", "--ctstate"):
            states = set(arg.upper().split(","))
            rule.established = "NEW" not in states and states <= _QUIET_STATES
        elif opt in ("-j", "--jump", "-g", "--goto"):
            rule.target, rule.goto = arg, opt in ("-g", "--goto")
        elif opt == "--reject-with" and rule.target == "REJECT":
            continue
        elif opt in ("--to-destination", "--to-source", "--to") and rule.target in ("DNAT", "SNAT"):
            rule.nat_to = arg
        elif opt == "--to-ports" and rule.target in ("MASQUERADE", "REDIRECT"):
            rule.nat_to = ":" + arg
        elif opt in ("-m", "--match"):
            if arg not in _IGNORED_MODULES:
                raise LineError(f"match module {arg!r} is not supported")
        elif opt in ("-c", "--set-counters"):
            i += 1
        else:
            raise LineError(f"option {opt} is not supported")
    if rule.established:
        rule.protocol, rule.sport, rule.dport = "tcp", [], []
    return rule


def _icmp(arg: str) -> int | None:
    head = arg.split("/", 1)[0]
    names = {"echo-request": 8, "echo-reply": 0, "destination-unreachable": 3}
    if head == "any":
        return None
    if head.isdigit():
        return int(head)
    if head in names:
        return names[head]
    raise LineError(f"ICMP type {arg!r} is not supported")


def _nat(rule: _Rule) -> NatAction:
    """The translation of a DNAT/SNAT/MASQUERADE/REDIRECT rule: ``--to-destination
    10.0.0.5-10.0.0.9:80-90``, ``[2001:db8::5]:80``, ``--to-ports 3128``."""
    kind = _NAT_TARGETS[rule.target]
    text = rule.nat_to or ""
    if kind in (NatKind.DNAT, NatKind.SNAT) and not text:
        option = "--to-destination" if kind is NatKind.DNAT else "--to-source"
        raise LineError(f"{rule.target} without {option}")
    address = last = None
    ports: PortRange | None = None
    if text.startswith("["):  # [v6]:port or [v6-v6]:port
        inner, _, rest = text[1:].partition("]")
        head, port_text = inner, rest.removeprefix(":")
    elif text.count(":") > 1:  # a bare IPv6 address or range, no port
        head, port_text = text, ""
    else:
        head, _, port_text = text.partition(":")
    if head:
        address, _, tail = head.partition("-")
        last = tail or None
    if port_text:
        lo, _, hi = port_text.partition("-")
        ports = PortRange(lo=int(lo), hi=int(hi or lo))
    try:
        return NatAction(kind=kind, address=address, address_last=last, ports=ports)
    except ValueError as exc:
        raise LineError(f"translation {text!r} cannot be read: {exc}") from None


def _narrow(outer: list[str], inner: list[str]) -> list[str] | None:
    """The CIDRs both lists match (empty: any); None when they share nothing."""
    if not outer or not inner:
        return inner or outer
    nets = []
    for a in map(ipaddress.ip_network, outer):
        for b in map(ipaddress.ip_network, inner):
            if a.version == b.version and a.overlaps(b):
                nets.append(str(a if a.prefixlen >= b.prefixlen else b))
    return nets or None


def _combine(outer: _Rule, inner: _Rule) -> _Rule | None:
    """``inner`` as reached through the jump ``outer``; None if it can never match."""
    merged = replace(inner)
    for attr in ("in_if", "out_if"):
        a, b = getattr(outer, attr), getattr(inner, attr)
        if a and b and a != b:
            return None
        setattr(merged, attr, b or a)
    for attr in ("sources", "destinations"):
        narrowed = _narrow(getattr(outer, attr), getattr(inner, attr))
        if narrowed is None:
            return None
        setattr(merged, attr, narrowed)
    if outer.protocol != "any":
        if inner.protocol not in ("any", outer.protocol):
            return None
        merged.protocol = outer.protocol
        merged.dport = inner.dport or outer.dport
        merged.sport = inner.sport or outer.sport
    merged.established = inner.established or outer.established
    merged.comment = inner.comment or outer.comment
    return merged


class _Flattener:
    def __init__(
        self, chains: dict[str, list[_Rule]], result: PolicyResult, terminal: set[str]
    ) -> None:
        self.chains, self.result, self.terminal = chains, result, terminal

    def expand(
        self, chain: str, policy: str, path: tuple[str, ...] = ()
    ) -> list[tuple[_Rule, str]]:
        """The rules of ``chain`` with jumps inlined; ``policy`` is the built-in chain's."""
        out: list[tuple[_Rule, str]] = []
        for rule in self.chains.get(chain, []):
            label = f"{chain} #{rule.index}"
            if rule.target == "RETURN":
                if not rule.conditional:
                    break
                self.result.problem(
                    rule.line,
                    rule.text,
                    "a conditional RETURN cannot be flattened exactly; the rules after it "
                    "are kept as if it were absent",
                )
                continue
            if rule.target in self.terminal:
                out.append((rule, label))
            elif rule.target in self.chains and rule.target in (*path, chain):
                self.result.problem(
                    rule.line, rule.text, f"a jump back into {rule.target} (a loop) is not followed"
                )
            elif rule.target in self.chains:
                for inner, inner_label in self.expand(rule.target, policy, (*path, chain)):
                    combined = _combine(rule, inner)
                    if combined is not None:
                        out.append((combined, f"{label} > {inner_label}"))
                if rule.goto:
                    # a packet that falls off the end of a goto'd chain gets the policy
                    out.append((replace(rule, target=policy), f"{label} (end of {rule.target})"))
                    if not rule.conditional:
                        break
            elif rule.target == "":
                continue  # counts only: the packet goes on to the next rule
            else:
                self.result.problem(rule.line, rule.text, f"target {rule.target} is not supported")
        return out


@dataclass
class _Table:
    """What one ``*table`` section holds."""

    policies: dict[str, tuple[str, str]] = field(default_factory=dict)
    chains: dict[str, list[_Rule]] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)  # rules met per chain, unreadable too


def _targets(words: list[str]) -> list[str]:
    return [words[i + 1] for i in range(len(words) - 1) if words[i] in ("-j", "--jump")]


def _read(text: str, result: PolicyResult) -> dict[NetfilterTable, _Table]:
    tables: dict[NetfilterTable, _Table] = {}
    current: _Table | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            name = line[1:].strip()
            try:
                current = tables.setdefault(NetfilterTable(name), _Table())
            except ValueError:
                current = None
                result.problem(
                    number,
                    line,
                    f"the {name} table is not read (only raw, mangle, nat and filter are); "
                    "its chains and rules are left out",
                )
            continue
        if current is None or line == "COMMIT":
            continue
        if line.startswith(":"):
            name, policy = [*line[1:].split(), "-"][:2]
            current.chains.setdefault(name, [])
            if policy in ("ACCEPT", "DROP"):
                current.policies[name] = (policy, line)
            continue
        try:
            words = shlex.split(line) if '"' in line or "'" in line else line.split()
            if words and words[0].startswith("["):  # iptables-save -c: "[packets:bytes] -A ..."
                words = words[1:]
            if len(words) < 2 or words[0] not in ("-A", "--append"):
                raise LineError("expected '-A CHAIN ...'")
            chain = words[1]
            current.seen[chain] = current.seen.get(chain, 0) + 1
            if any(t in _NO_VERDICT for t in _targets(words)):
                continue  # marks or logs only: the packet goes on to the next rule
            rule = _read_rule(words, number, line, current.seen[chain])
            current.chains.setdefault(chain, []).append(rule)
        except (LineError, ValueError) as exc:
            result.problem(number, line, str(exc))
    return tables


def parse_iptables(text: str, device: str, *, family: int = 4) -> PolicyResult:
    """Every table of one ``iptables-save`` (``family=4``) or ``ip6tables-save`` output."""
    result = PolicyResult()
    any_net = "0.0.0.0/0" if family == 4 else "::/0"
    prefix = "" if family == 4 else "ip6:"
    zones: set[str] = set()
    tables = _read(text, result)
    for table in (t for t in NetfilterTable if t in tables):  # the kernel's order of tables
        read = tables[table]
        terminal = set(_TARGETS) | (set(_NAT_TARGETS) if table is NetfilterTable.NAT else set())
        flat = _Flattener(read.chains, result, terminal)
        for hook in NETFILTER_CHAINS[table]:
            chain = str(hook)
            declared = chain in read.policies
            policy, policy_line = read.policies.get(chain, ("ACCEPT", None))
            expanded = flat.expand(chain, policy)
            if table is NetfilterTable.FILTER:
                if not declared and not read.chains.get(chain):
                    continue
            elif not expanded and policy == "ACCEPT":
                continue  # a chain that accepts everything and translates nothing: a no-op
            name = prefix + (chain if table is NetfilterTable.FILTER else f"{table} {chain}")
            result.rulesets.append(
                FirewallRuleset(
                    device=device,
                    name=name,
                    kind="chain",
                    default_action="permit" if policy == "ACCEPT" else "drop",
                    default_text=policy_line,
                    bindings=[RulesetBinding(direction=_DIRECTION[hook])],
                    netfilter_table=table,
                    netfilter_hook=hook,
                    family=family,
                )
            )
            label_prefix = "" if table is NetfilterTable.FILTER else f"{table} "
            for position, (rule, label) in enumerate(expanded, start=1):
                nat = None
                if rule.target in _NAT_TARGETS:
                    try:
                        nat = _nat(rule)
                    except (LineError, ValueError) as exc:
                        result.problem(rule.line, rule.text, str(exc))
                        continue
                    if hook not in _NAT_HOOKS[nat.kind]:
                        result.problem(
                            rule.line, rule.text, f"{rule.target} is not valid in {chain}"
                        )
                        continue
                zones.update(z for z in (rule.in_if, rule.out_if) if z)
                service = Service(
                    protocol=rule.protocol,
                    src_ports=rule.sport,
                    dst_ports=rule.dport,
                    icmp_type=rule.icmp_type,
                    established=rule.established,
                )
                result.rules.append(
                    FirewallRule(
                        device=device,
                        ruleset=name,
                        position=position,
                        name=label_prefix + label,
                        action="permit" if nat else _TARGETS[rule.target],
                        src_zones=[rule.in_if] if rule.in_if else [],
                        dst_zones=[rule.out_if] if rule.out_if else [],
                        sources=rule.sources or [any_net],
                        destinations=rule.destinations or [any_net],
                        source_names=rule.sources or ["any"],
                        destination_names=rule.destinations or ["any"],
                        services=[] if service == Service() else [service],
                        comment=rule.comment,
                        text=rule.text,
                        nat=nat,
                    )
                )
    result.zones = [
        FirewallZone(device=device, name=z, interfaces=[] if z.endswith("+") else [z])
        for z in sorted(zones)
    ]
    return result
