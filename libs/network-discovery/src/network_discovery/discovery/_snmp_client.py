"""Walking MIB tables with pysnmp's asyncio API (``pysnmp.hlapi.v3arch.asyncio``, 7.x).

OIDs are numeric and no MIB is loaded: values come back as bytes, ints or dotted strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_walk_cmd,
    usm3DESEDEPrivProtocol,
    usmAesCfb128Protocol,
    usmAesCfb192Protocol,
    usmAesCfb256Protocol,
    usmDESPrivProtocol,
    usmHMAC128SHA224AuthProtocol,
    usmHMAC192SHA256AuthProtocol,
    usmHMAC256SHA384AuthProtocol,
    usmHMAC384SHA512AuthProtocol,
    usmHMACMD5AuthProtocol,
    usmHMACSHAAuthProtocol,
)

from network_discovery.discovery.credentials import Credentials
from network_discovery.discovery.result import DeviceStatus

__all__ = ["SnmpFailure", "Table", "Walker"]

Index = tuple[int, ...]
Table = dict[Index, Any]

_AUTH = {
    "md5": usmHMACMD5AuthProtocol,
    "sha": usmHMACSHAAuthProtocol,
    "sha224": usmHMAC128SHA224AuthProtocol,
    "sha256": usmHMAC192SHA256AuthProtocol,
    "sha384": usmHMAC256SHA384AuthProtocol,
    "sha512": usmHMAC384SHA512AuthProtocol,
}
_PRIV = {
    "des": usmDESPrivProtocol,
    "3des": usm3DESEDEPrivProtocol,
    "aes": usmAesCfb128Protocol,
    "aes128": usmAesCfb128Protocol,
    "aes192": usmAesCfb192Protocol,
    "aes256": usmAesCfb256Protocol,
}
# Indications of keys or users the agent does not accept.
_AUTH_ERRORS = (
    "digest",
    "unknown user",
    "unknownusername",
    "decryption",
    "authentication",
    "unsupported security level",
    "unknownsecurityname",
    "notintimewindow",
)


@dataclass
class SnmpFailure(Exception):
    status: DeviceStatus
    detail: str


def auth_data(creds: Credentials, environ: Mapping[str, str] | None) -> Any:
    """pysnmp's auth object; the secrets are read here and handed over, never kept."""
    if creds.snmp_version == "3":
        auth = creds.resolve("snmp_auth_key", environ)
        priv = creds.resolve("snmp_priv_key", environ)
        assert auth is not None and priv is not None  # checked when the profile was read
        return UsmUserData(
            creds.snmp_user or "",
            auth.reveal(),
            priv.reveal(),
            authProtocol=_AUTH[creds.snmp_auth_protocol],
            privProtocol=_PRIV[creds.snmp_priv_protocol],
        )
    community = creds.resolve("snmp_community", environ)
    if community is None:
        from network_discovery.discovery._secrets import CredentialError

        raise CredentialError(
            f"credentials {creds.name!r}: SNMP v2c needs snmp_community_env or _file"
        )
    return CommunityData(community.reveal(), mpModel=1)  # noqa: S508 - many networks run v2c


def _value(value: Any) -> Any:
    if hasattr(value, "asOctets"):
        return bytes(value.asOctets())
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


@dataclass
class Walker:
    """Walks tables on one agent; the first failure stops the device."""

    address: str
    port: int
    auth: Any
    timeout: float
    retries: int
    engine: SnmpEngine
    _transport: Any = None

    async def walk(self, oid: str) -> Table:
        """``{index: value}`` under ``oid`` (empty when the agent has no such table)."""
        if self._transport is None:
            self._transport = await UdpTransportTarget.create(
                (self.address, self.port), timeout=self.timeout, retries=self.retries
            )
        prefix = tuple(int(p) for p in oid.split("."))
        rows: Table = {}
        async for indication, status, _index, var_binds in bulk_walk_cmd(
            self.engine,
            self.auth,
            self._transport,
            ContextData(),
            0,
            25,
            ObjectType(ObjectIdentity(oid)),
            lexicographicMode=False,
            lookupMib=False,
        ):
            if indication:
                raise _failure(str(indication))
            if status:
                break  # noSuchName and the like: the agent has no such table
            for name, value in var_binds:
                key = tuple(name)
                if key[: len(prefix)] != prefix or value.tagSet in _END_TAGS:
                    continue
                rows[key[len(prefix) :]] = _value(value)
        return rows


def _failure(text: str) -> SnmpFailure:
    lowered = text.lower()
    if "timeout" in lowered or "no snmp response" in lowered:
        return SnmpFailure(
            DeviceStatus.TIMED_OUT, "no SNMP answer in time (wrong community, or unreachable)"
        )
    if any(word in lowered for word in _AUTH_ERRORS):
        return SnmpFailure(DeviceStatus.AUTH_FAILED, f"SNMPv3 refused: {text}")
    return SnmpFailure(DeviceStatus.ERROR, f"SNMP error: {text}")


def _end_tags() -> tuple[Any, ...]:
    from pysnmp.proto.rfc1905 import endOfMibView, noSuchInstance, noSuchObject

    return (endOfMibView.tagSet, noSuchInstance.tagSet, noSuchObject.tagSet)


_END_TAGS = _end_tags()
