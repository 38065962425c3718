"""Vulnerabilities: the advisories loaded into the advisory store, matched to every collected
device by its software family and version, and by the configuration facts the graph holds.

Advisories come from ``meshq vuln load FILE|DIR|URL`` or the scheduled load of
``MESHQ_VULN_FEED_DIR`` and ``MESHQ_VULN_FEED_URL`` (``network_discovery.vuln``): CSAF 2.0,
NVD CVE API 2.0 and CVE JSON 5.
A device is matched when its platform and version name a family the advisories describe (IOS,
IOS XE, NX-OS, EOS, Junos); a device without a version is not matched (the hygiene query
``devices_missing_os_version`` lists them). Without an advisory store every query answers 503.
"""

from __future__ import annotations

from typing import Any, Literal

from network_discovery.vuln.exposure import Exposure, exposure_by_device
from network_discovery.vuln.match import DeviceFacts, Finding, match_devices
from network_discovery.vuln.store import StoreUnavailable
from pydantic import Field

from meshq_graph_engine.catalogue._common import DeviceName, SiteFilter
from meshq_graph_engine.catalogue.base import Params, Query, QueryContext, QueryError, Row

__all__ = ["CATEGORY", "FEATURE", "QUERIES"]

FEATURE = "vulnerability_correlation"
CATEGORY = "Vulnerabilities"
_NOT_CONFIGURED = (
    "advisories are kept in the advisory store (PostgreSQL at MESHQ_POSTGRES_URL, else "
    "$MESHQ_DATA_DIR/vuln): this graph engine has none; load advisories with "
    "'meshq vuln load' (see docs/vulnerabilities.md)"
)
_DEVICES = (
    "MATCH (d:Device) WHERE d.managed = true AND ($site = '' OR d.site = $site) "
    "AND ($device = '' OR d.id = $device) "
    "RETURN d.id AS device, d.hostname AS hostname, d.site AS site, d.platform AS platform, "
    "d.model AS model, d.os_version AS os_version, d.settings_source AS settings_source, "
    "d.remote_access AS remote_access, d.snmp_versions AS snmp_versions ORDER BY device"
)
_BGP = (
    "MATCH (d:Device)-[:HAS_BGP_PEER]->(p:BGPPeer) WHERE d.id IN $ids "
    "RETURN d.id AS device, count(p) AS peers"
)
_DEVICE_EXISTS = "MATCH (d:Device) WHERE d.id = $device RETURN d.managed AS managed"
_SEVERITY_RANK = {None: 0, "none": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

Severity = Literal["", "low", "medium", "high", "critical"]
Status = Literal["", "affected", "affected if configured", "not affected (feature off)", "unknown"]


class _VulnParams(Params):
    min_severity: Severity = Field(
        "",
        description="Only findings of at least this severity (CVSS band); empty for all, "
        "findings without a score included.",
    )
    status: Status = Field(
        "",
        description="Only findings with this status; empty for every status.",
    )
    exploited_only: bool = Field(
        False, description="Only vulnerabilities the feed marks as exploited in the wild."
    )


class ScanParams(_VulnParams):
    site: SiteFilter = ""


class ByDeviceParams(_VulnParams):
    device: DeviceName


class VulnRow(Row):
    device: str
    hostname: str | None
    site: str | None
    platform: str | None
    os_version: str = Field(description="The version matched, as the device reports it.")
    cve: str | None = Field(description="The CVE; null for a vendor advisory that names none.")
    advisory_id: str = Field(description="The advisory's own id (cisco-sa-…, JSA…, the CVE).")
    source: Literal["csaf", "nvd", "cve5"] = Field(
        description="The feed format the answer came from (CSAF before CVE record before NVD)."
    )
    title: str | None
    cvss_score: float | None = Field(description="CVSS base score, from the vector.")
    cvss_vector: str | None
    cvss_version: str | None
    severity: Literal["none", "low", "medium", "high", "critical"] | None
    exploited: bool | None = Field(
        description="Exploited in the wild as the feed says; null where the feed is silent."
    )
    status: Literal["affected", "affected if configured", "not affected (feature off)", "unknown"]
    reason: str = Field(description="Why: the version, and the configured feature it needs.")
    feature: str | None = Field(
        description="The configured feature the vulnerability needs (http_server, telnet, "
        "ssh, snmp, bgp, smart_install, other); null: none named."
    )
    fixed_in: list[str] = Field(description="Fixed releases later than the device's version.")
    remediation: str | None
    url: str | None
    device_exposure: float = Field(
        description="The device's exposure, 0 to 10: its heaviest finding's CVSS score weighed "
        "by the verdict (affected 1, if configured 0.5, unknown 0.25, feature off 0) and 1.5x "
        "when exploited; the same on every row of the device, whatever the filters."
    )


def _store(ctx: QueryContext) -> Any:
    if ctx.vulns is None:
        raise QueryError(503, "Advisory store not configured", _NOT_CONFIGURED)
    return ctx.vulns


def _text_list(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()


async def _facts(
    ctx: QueryContext, site: str, device: str
) -> tuple[list[DeviceFacts], dict[str, str | None]]:
    """The collected devices (one, or a site's, or all) and the site of each."""
    rows = await ctx.store.execute(_DEVICES, {"site": site, "device": device})
    ids = [r["device"] for r in rows]
    sessions = (
        {r["device"]: int(r["peers"]) for r in await ctx.store.execute(_BGP, {"ids": ids})}
        if ids
        else {}
    )
    facts = [
        DeviceFacts(
            device=r["device"],
            hostname=r["hostname"],
            platform=r["platform"],
            model=r["model"],
            os_version=r["os_version"],
            settings_source=r["settings_source"],
            remote_access=_text_list(r["remote_access"]),
            snmp_versions=_text_list(r["snmp_versions"]),
            bgp_sessions=sessions.get(r["device"], 0),
        )
        for r in rows
    ]
    return facts, {r["device"]: r["site"] for r in rows}


def _row(
    finding: Finding, sites: dict[str, str | None], exposure: dict[str, Exposure]
) -> dict[str, Any]:
    advisory, facts = finding.advisory, finding.device
    return {
        "device": facts.device,
        "hostname": facts.hostname,
        "site": sites.get(facts.device),
        "platform": facts.platform,
        "os_version": facts.os_version,
        "cve": advisory.cve,
        "advisory_id": advisory.advisory_id,
        "source": advisory.source,
        "title": advisory.title,
        "cvss_score": advisory.cvss_score,
        "cvss_vector": advisory.cvss_vector,
        "cvss_version": advisory.cvss_version,
        "severity": advisory.severity,
        "exploited": advisory.exploited,
        "status": finding.status,
        "reason": finding.reason,
        "feature": advisory.feature,
        "fixed_in": list(finding.fixed_in),
        "remediation": advisory.remediation,
        "url": advisory.url,
        "device_exposure": exposure[facts.device].score,
    }


def _keep(row: dict[str, Any], params: _VulnParams) -> bool:
    if params.status and row["status"] != params.status:
        return False
    if params.exploited_only and row["exploited"] is not True:
        return False
    if params.min_severity:
        severity = row["severity"]
        if severity is None and row["cvss_score"] is not None:
            score = row["cvss_score"]
            severity = "critical" if score >= 9 else "high" if score >= 7 else "medium"
        return _SEVERITY_RANK[severity] >= _SEVERITY_RANK[params.min_severity]
    return True


async def _answer(ctx: QueryContext, params: _VulnParams, site: str, device: str) -> list[Any]:
    store = _store(ctx)
    facts, sites = await _facts(ctx, site, device)
    try:
        advisories = await store.all() if facts else []
    except StoreUnavailable as exc:
        raise QueryError(503, "Advisory store unavailable", str(exc)) from None
    findings = match_devices(facts, advisories)
    exposure = exposure_by_device(findings)
    rows = [_row(f, sites, exposure) for f in findings]
    rows = [r for r in rows if _keep(r, params)]
    rows.sort(
        key=lambda r: (
            -(r["cvss_score"] or 0.0),
            r["device"],
            r["cve"] or "",
            r["advisory_id"],
        )
    )
    return rows


async def _scan(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    return await _answer(ctx, params, params.site, "")


async def _by_device(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    _store(ctx)
    found = await ctx.store.execute(_DEVICE_EXISTS, {"device": params.device})
    if not found:
        raise QueryError(
            404, "Unknown device", f"no device {params.device!r}; all_devices lists them"
        )
    return await _answer(ctx, params, "", params.device)


SCAN = Query(
    name="meshq_vuln_scan",
    category=CATEGORY,
    summary="Every collected device against the loaded advisories: CVE, CVSS score and "
    "vector, severity, fixed-in releases, exploited flag, and whether it is affected, "
    "affected if a feature is configured, or not affected because that feature is off.",
    params=ScanParams,
    row=VulnRow,
    feature=FEATURE,
    run=_scan,
    source="vulns",
)
BY_DEVICE = Query(
    name="meshq_vuln_by_device",
    category=CATEGORY,
    summary="The advisories one device is exposed to, with the reason for each verdict.",
    params=ByDeviceParams,
    row=VulnRow,
    feature=FEATURE,
    run=_by_device,
    source="vulns",
)

QUERIES = [SCAN, BY_DEVICE]
