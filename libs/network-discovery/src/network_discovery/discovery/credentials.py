"""Credential profiles: who to log in as, and where each secret is read from.

A profile is written in an inventory as a mapping. Secrets are given by reference only,
``<name>_env: VARIABLE`` or ``<name>_file: PATH``; a secret written in clear text is refused
with an error that says how to write it instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from network_discovery.discovery._secrets import CredentialError, Secret, SecretRef


def unknown_key(
    data: Mapping[str, Any], known: Iterable[str], where: str, noun: str = "key"
) -> str | None:
    """The message for the first key of ``data`` not in ``known`` (sorted), or None."""
    allowed = set(known)
    unknown = sorted(str(k) for k in data if k not in allowed)
    if not unknown:
        return None
    return f"{where}: unknown {noun} {unknown[0]!r} (known: {', '.join(sorted(allowed))})"


__all__ = [
    "CLEAR_TEXT_KEYS",
    "SECRET_FIELDS",
    "CredentialError",
    "Credentials",
    "credentials_from_mapping",
]

#: Secret fields of a profile; each is written as ``<field>_env`` or ``<field>_file``.
SECRET_FIELDS = ("password", "secret", "snmp_community", "snmp_auth_key", "snmp_priv_key")
#: Keys that would hold a secret in clear text (refused).
CLEAR_TEXT_KEYS = frozenset(
    {*SECRET_FIELDS, "community", "auth_key", "priv_key", "enable_password", "passphrase"}
)
_PLAIN = {
    "username",
    "key_file",
    "snmp_version",
    "snmp_user",
    "snmp_auth_protocol",
    "snmp_priv_protocol",
}
_SNMP_VERSIONS: dict[str, Literal["2c", "3"]] = {"2c": "2c", "3": "3"}
_AUTH = ("md5", "sha", "sha224", "sha256", "sha384", "sha512")
_PRIV = ("des", "3des", "aes", "aes128", "aes192", "aes256")


@dataclass(frozen=True)
class Credentials:
    """One profile. ``username`` may be plain (it is not a secret) or a reference."""

    name: str = "default"
    username: str | None = None
    username_ref: SecretRef | None = None
    password: SecretRef | None = None
    secret: SecretRef | None = None
    key_file: Path | None = None
    snmp_version: Literal["2c", "3"] = "2c"
    snmp_community: SecretRef | None = None
    snmp_user: str | None = None
    snmp_auth_protocol: str = "sha"
    snmp_auth_key: SecretRef | None = None
    snmp_priv_protocol: str = "aes"
    snmp_priv_key: SecretRef | None = None

    def ssh_username(self, environ: Mapping[str, str] | None = None) -> str:
        if self.username:
            return self.username
        if self.username_ref:
            return self.username_ref.resolve(environ).reveal()
        raise CredentialError(f"credentials {self.name!r}: no username")

    def resolve(self, field: str, environ: Mapping[str, str] | None = None) -> Secret | None:
        """The secret ``field`` (one of :data:`SECRET_FIELDS`), or None when not given."""
        ref: SecretRef | None = getattr(self, field)
        return ref.resolve(environ) if ref else None


def _ref(where: str, data: Mapping[str, Any], field: str) -> SecretRef | None:
    env, file = data.get(f"{field}_env"), data.get(f"{field}_file")
    if env is not None and file is not None:
        raise CredentialError(f"{where}: give {field}_env or {field}_file, not both")
    if env is not None:
        if not isinstance(env, str) or not env.strip():
            raise CredentialError(f"{where}: {field}_env must name an environment variable")
        return SecretRef(env=env.strip())
    if file is not None:
        if not isinstance(file, str) or not file.strip():
            raise CredentialError(f"{where}: {field}_file must be a path")
        return SecretRef(file=Path(file.strip()))
    return None


def credentials_from_mapping(name: str, data: Any, where: str) -> Credentials:
    """A profile from its inventory mapping; ``where`` prefixes every error."""
    if not isinstance(data, Mapping):
        raise CredentialError(f"{where}: expected a mapping of keys to values")
    clear = sorted(k for k in data if k in CLEAR_TEXT_KEYS)
    if clear:
        key = clear[0]
        field = key if key in SECRET_FIELDS else "password"
        raise CredentialError(
            f"{where}: {key!r} is written in clear text, which is refused; "
            f"give {field}_env: VARIABLE or {field}_file: PATH instead"
        )
    allowed = _PLAIN | {f"{f}_{s}" for f in (*SECRET_FIELDS, "username") for s in ("env", "file")}
    if message := unknown_key(data, allowed, where):
        raise CredentialError(message)
    given = str(data.get("snmp_version", "2c"))
    version = _SNMP_VERSIONS.get(given)
    if version is None:
        raise CredentialError(f"{where}: snmp_version must be 2c or 3, not {given!r}")
    auth = str(data.get("snmp_auth_protocol", "sha")).lower()
    priv = str(data.get("snmp_priv_protocol", "aes")).lower()
    if auth not in _AUTH:
        raise CredentialError(f"{where}: snmp_auth_protocol must be one of {', '.join(_AUTH)}")
    if priv not in _PRIV:
        raise CredentialError(f"{where}: snmp_priv_protocol must be one of {', '.join(_PRIV)}")
    key_file = data.get("key_file")
    creds = Credentials(
        name=name,
        username=str(data["username"]) if data.get("username") is not None else None,
        username_ref=_ref(where, data, "username"),
        password=_ref(where, data, "password"),
        secret=_ref(where, data, "secret"),
        key_file=Path(str(key_file)) if key_file else None,
        snmp_version=version,
        snmp_community=_ref(where, data, "snmp_community"),
        snmp_user=str(data["snmp_user"]) if data.get("snmp_user") is not None else None,
        snmp_auth_protocol=auth,
        snmp_auth_key=_ref(where, data, "snmp_auth_key"),
        snmp_priv_protocol=priv,
        snmp_priv_key=_ref(where, data, "snmp_priv_key"),
    )
    if version == "3" and not (creds.snmp_user and creds.snmp_auth_key and creds.snmp_priv_key):
        raise CredentialError(
            f"{where}: SNMPv3 needs snmp_user, snmp_auth_key_env/_file and "
            "snmp_priv_key_env/_file (authPriv)"
        )
    return creds
