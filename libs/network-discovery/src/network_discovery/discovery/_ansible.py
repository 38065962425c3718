"""Reading an Ansible inventory (INI or YAML) into discovery targets.

Variables used: ``ansible_host``, ``ansible_port``, ``ansible_user``, ``ansible_network_os``
(``ios``/``cisco.ios.ios``, ``nxos``, ``eos``, ``junos``, or one of our platform names),
``ansible_ssh_private_key_file``; secrets only by reference: ``ansible_password`` /
``ansible_become_password`` as ``{{ lookup('env', 'VAR') }}`` or ``{{ lookup('file', 'PATH') }}``,
or ``meshq_password_env`` / ``meshq_password_file`` (and ``meshq_secret_*``). A password written
in clear is refused. Hosts without a network OS (servers) are left out and listed as skipped.
Host ranges (``sw[01:10]``, ``10.0.0.[1:5]``, ``[a:c]``, ``[1:10:2]``) are expanded as Ansible
expands them (:mod:`._hostrange`). A host written ``name:PORT`` (``[IPv6]:PORT``) gets that port
as its ``ansible_port`` when the host is first declared, as in Ansible; an ``ansible_port``
variable of the host wins over it, a group's does not.
Group variables apply to the group's hosts and its children's; host variables win.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from network_discovery.discovery._hostrange import (
    HostRangeError,
    expand_host_range,
    split_host_port,
)
from network_discovery.discovery._secrets import SecretRef
from network_discovery.discovery.credentials import Credentials
from network_discovery.discovery.inventory import (
    Inventory,
    InventoryError,
    Target,
    check_platform,
    make_target,
)

__all__ = ["from_ini", "from_yaml", "looks_like_ini", "looks_like_yaml"]

_NETWORK_OS = {
    "ios": "cisco_ios",
    "cisco.ios.ios": "cisco_ios",
    "cisco.ios": "cisco_ios",
    "nxos": "cisco_nxos",
    "cisco.nxos.nxos": "cisco_nxos",
    "cisco.nxos": "cisco_nxos",
    "eos": "arista_eos",
    "arista.eos.eos": "arista_eos",
    "arista.eos": "arista_eos",
    "junos": "juniper_junos",
    "junipernetworks.junos.junos": "juniper_junos",
    "junipernetworks.junos": "juniper_junos",
}
_LOOKUP = re.compile(
    r"""^\{\{\s*lookup\(\s*['"](?P<kind>env|file)['"]\s*,\s*['"](?P<arg>[^'"]+)['"]\s*\)"""
    r"""\s*\}\}$"""
)
_SECTION = re.compile(r"^\[(?P<name>[^\]:]+)(?::(?P<kind>vars|children))?\]\s*$")
_META = ("role", "site", "tenant", "rack", "criticality")


def looks_like_ini(text: str) -> bool:
    return any(_SECTION.match(line.strip()) for line in text.splitlines())


def looks_like_yaml(doc: Mapping[str, Any]) -> bool:
    return any(
        isinstance(v, Mapping) and ({"hosts", "children", "vars"} & set(v)) for v in doc.values()
    )


class _Groups:
    """Groups with their hosts, children and variables, as an inventory declares them."""

    def __init__(self) -> None:
        self.hosts: dict[str, dict[str, Any]] = {}
        self.members: dict[str, list[str]] = {"all": [], "ungrouped": []}
        self.children: dict[str, list[str]] = {"all": []}
        self.vars: dict[str, dict[str, Any]] = {}

    def add_host(
        self, group: str, name: str, variables: Mapping[str, Any], port: int | None = None
    ) -> None:
        if name not in self.hosts:
            self.hosts[name] = {"ansible_port": port} if port else {}
        self.hosts[name].update(variables)
        self.members.setdefault(group, []).append(name)

    def host_vars(self, name: str) -> dict[str, Any]:
        """The host's variables: ``all``'s, then each enclosing group's, then its own."""
        merged: dict[str, Any] = dict(self.vars.get("all", {}))
        for group in self._groups_of(name):
            merged.update(self.vars.get(group, {}))
        merged.update(self.hosts[name])
        return merged

    def _groups_of(self, name: str) -> list[str]:
        direct = [g for g, hosts in self.members.items() if name in hosts and g != "all"]
        found: list[str] = []

        def parents(group: str, depth: int) -> None:
            if depth > 20 or group in found:
                return
            for parent, kids in self.children.items():
                if group in kids and parent != "all":
                    parents(parent, depth + 1)
            found.append(group)

        for group in sorted(direct):
            parents(group, 0)
        return found


def _value(raw: str) -> Any:
    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _expand(pattern: str, where: str) -> tuple[list[str], int | None]:
    """The hosts an Ansible host pattern names (``sw[01:10]``: ten of them), and the port it
    gives them (``sw[01:10]:2222``)."""
    hosts, port = split_host_port(pattern)
    if port is not None and not 1 <= port <= 65535:
        raise InventoryError(
            f"{where}: host {pattern!r}: the port after ':' must be from 1 to 65535, not {port}"
        )
    try:
        return expand_host_range(hosts), port
    except HostRangeError as exc:
        raise InventoryError(f"{where}: host range {exc}") from None


def from_ini(text: str, source: str) -> Inventory:
    groups = _Groups()
    section, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        match = _SECTION.match(line)
        if match:
            section, kind = match["name"].strip(), match["kind"] or "hosts"
            continue
        where = f"{source}:{number}"
        try:
            parts = shlex.split(line, comments=True)
        except ValueError as exc:
            raise InventoryError(f"{where}: cannot read the line ({exc})") from None
        if not parts:
            continue
        if kind == "vars":
            key, sep, value = line.partition("=")
            if not sep:
                raise InventoryError(f"{where}: expected key=value in [{section}:vars]")
            groups.vars.setdefault(section, {})[key.strip()] = _value(value)
        elif kind == "children":
            groups.children.setdefault(section, []).append(parts[0])
        else:
            variables = {}
            for item in parts[1:]:
                key, sep, value = item.partition("=")
                if not sep:
                    raise InventoryError(f"{where}: expected key=value after the host name")
                variables[key] = value
            if parts[0].endswith(":"):
                raise InventoryError(
                    f"{where}: host {parts[0]!r} ends in ':', which Ansible keeps for a port "
                    "(name:PORT, or [IPv6 address]:PORT)"
                )
            hosts, port = _expand(parts[0], where)
            for host in hosts:
                groups.add_host(section, host, variables, port)
    return _targets(groups, source)


def from_yaml(doc: Mapping[str, Any], source: str) -> Inventory:
    groups = _Groups()

    def walk(name: str, body: Any, depth: int) -> None:
        if depth > 20:
            raise InventoryError(f"{source}: groups nest too deeply at {name!r}")
        if body is None:
            return
        if not isinstance(body, Mapping):
            raise InventoryError(f"{source}: group {name!r} must be a mapping")
        for pattern, variables in (body.get("hosts") or {}).items():
            hosts, port = _expand(str(pattern), f"{source}: group {name!r}")
            for host in hosts:
                groups.add_host(name, host, variables or {}, port)
        groups.vars.setdefault(name, {}).update(body.get("vars") or {})
        for child, child_body in (body.get("children") or {}).items():
            groups.children.setdefault(name, []).append(str(child))
            walk(str(child), child_body, depth + 1)

    for name, body in doc.items():
        walk(str(name), body, 0)
    return _targets(groups, source)


def _secret(value: Any, where: str, var: str) -> SecretRef | None:
    if value is None:
        return None
    match = _LOOKUP.match(str(value).strip())
    if match is None:
        raise InventoryError(
            f"{where}: {var} is written in clear text, which is refused; write "
            "\"{{ lookup('env', 'VARIABLE') }}\" or use meshq_password_env / meshq_password_file"
        )
    if match["kind"] == "env":
        return SecretRef(env=match["arg"])
    return SecretRef(file=Path(match["arg"]))


def _own_ref(variables: Mapping[str, Any], field: str) -> SecretRef | None:
    env, file = variables.get(f"meshq_{field}_env"), variables.get(f"meshq_{field}_file")
    if env:
        return SecretRef(env=str(env))
    if file:
        return SecretRef(file=Path(str(file)))
    return None


def _target(name: str, variables: Mapping[str, Any], source: str) -> Target | None:
    where = f"{source}: host {name}"
    os_name = variables.get("meshq_platform") or variables.get("ansible_network_os")
    if os_name is None:
        return None
    platform = _NETWORK_OS.get(str(os_name).lower(), str(os_name))
    check_platform(platform, where)
    creds = Credentials(
        name=f"ansible:{name}",
        username=str(variables["ansible_user"]) if variables.get("ansible_user") else None,
        password=_own_ref(variables, "password")
        or _secret(variables.get("ansible_password"), where, "ansible_password"),
        secret=_own_ref(variables, "secret")
        or _secret(variables.get("ansible_become_password"), where, "ansible_become_password"),
        key_file=Path(str(variables["ansible_ssh_private_key_file"]))
        if variables.get("ansible_ssh_private_key_file")
        else None,
    )
    settings: dict[str, Any] = {
        "address": variables.get("ansible_host") or name,
        "port": variables.get("ansible_port"),
        "platform": platform,
    }
    settings.update({k: variables[f"meshq_{k}"] for k in _META if variables.get(f"meshq_{k}")})
    return make_target(name, settings, {}, where, default_credentials=creds)


def _targets(groups: _Groups, source: str) -> Inventory:
    targets: list[Target] = []
    skipped: list[str] = []
    for name in groups.hosts:
        target = _target(name, groups.host_vars(name), source)
        if target is None:
            skipped.append(f"{name}: no ansible_network_os")
        else:
            targets.append(target)
    if not targets:
        raise InventoryError(
            f"{source}: no host with ansible_network_os (ios, nxos, eos, junos) to discover"
        )
    return Inventory(tuple(targets), source, tuple(skipped))
