"""RBAC policy: roles grant verbs on glob patterns over resource names; groups map to roles.

Both shapes of a role are accepted::

    roles:
      network: ["topology_*", "blast_radius_*"]        # a plain list: list and execute
      readonly: {resources: ["*"], verbs: [list]}      # explicit verbs
    groups:
      "Network-Ops": {roles: [network]}                # or simply: "Network-Ops": [network]

A caller's roles are the roles of its groups, plus any group named like a role (so an OIDC
``roles`` claim can name a role directly). The ``admin`` role, and the admin key, may do anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

import yaml

__all__ = ["ADMIN_ROLE", "VERBS", "Policy", "PolicyError", "Role", "parse_policy"]

VERBS = frozenset({"list", "execute"})
ADMIN_ROLE = "admin"


class PolicyError(ValueError):
    """The policy file cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Role:
    name: str
    resources: tuple[str, ...]
    verbs: frozenset[str]

    def grants(self, verb: str, resource: str) -> bool:
        return verb in self.verbs and any(fnmatchcase(resource, g) for g in self.resources)


@dataclass(frozen=True)
class Policy:
    roles: Mapping[str, Role] = field(default_factory=dict)
    groups: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def roles_of(self, groups: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for group in groups:
            out.update(self.groups.get(group, ()))
            if group in self.roles:  # a claim may name a role the policy defines
                out.add(group)
        return out

    def is_admin(self, groups: Iterable[str]) -> bool:
        return ADMIN_ROLE in self.roles_of(groups)

    def allows(self, groups: Iterable[str], verb: str, resource: str) -> bool:
        names = self.roles_of(groups)
        if ADMIN_ROLE in names:
            return True
        return any(self.roles[n].grants(verb, resource) for n in names if n in self.roles)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise PolicyError(f"{where} must be a non-empty list of non-empty strings")
    return tuple(value)


def _role(name: str, body: Any) -> Role:
    where = f"roles.{name}"
    if isinstance(body, list):
        return Role(name, _strings(body, where), VERBS)
    if not isinstance(body, dict):
        raise PolicyError(f"{where} must be a list of globs or a mapping with resources and verbs")
    unknown = set(body) - {"resources", "verbs"}
    if unknown:
        raise PolicyError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    resources = _strings(body.get("resources"), f"{where}.resources")
    verbs = frozenset(_strings(body.get("verbs", sorted(VERBS)), f"{where}.verbs"))
    bad = verbs - VERBS
    if bad:
        raise PolicyError(f"{where}.verbs: {', '.join(sorted(bad))} not one of list, execute")
    return Role(name, resources, verbs)


def parse_policy(text: str) -> Policy:
    """Parse the YAML text of a policy file; :class:`PolicyError` names the field at fault."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"not valid YAML: {exc}") from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise PolicyError("the policy must be a mapping with roles and groups")
    unknown = set(doc) - {"roles", "groups"}
    if unknown:
        raise PolicyError(f"unknown top-level keys: {', '.join(sorted(map(str, unknown)))}")
    raw_roles = doc.get("roles") or {}
    raw_groups = doc.get("groups") or {}
    if not isinstance(raw_roles, dict) or not isinstance(raw_groups, dict):
        raise PolicyError("roles and groups must each be a mapping")
    roles = {str(n): _role(str(n), body) for n, body in raw_roles.items()}
    groups: dict[str, frozenset[str]] = {}
    for name, body in raw_groups.items():
        where = f"groups.{name}"
        if isinstance(body, dict):
            if set(body) - {"roles"}:
                raise PolicyError(f"{where} may only have roles")
            body = body.get("roles")
        names = frozenset(_strings(body, f"{where}.roles"))
        missing = names - set(roles) - {ADMIN_ROLE}
        if missing:
            raise PolicyError(f"{where} names undefined roles: {', '.join(sorted(missing))}")
        groups[str(name)] = names
    return Policy(roles, groups)
