"""``meshq license``: the license of this machine, and the license server's admin commands."""

from __future__ import annotations

import functools
import os
import sys
from datetime import UTC, date, datetime
from typing import Any

import click
import httpx

from network_discovery.cli._common import CliError
from network_discovery.client import ApiError
from network_discovery.licensing import protocol

__all__ = ["install", "license_group", "render_info"]

ADMIN_URL_ENV = "MESHOPTIXIQ_LICENSE_URL"
ADMIN_TOKEN_ENV = "MESHOPTIXIQ_LICENSE_ADMIN_TOKEN"  # noqa: S105 (a variable name)


def render_info(status: Any, now: datetime | None = None) -> str:
    """The guide's layout of ``meshq license info``."""
    now = now or datetime.now(UTC)
    lines = [f"Plan: {status.licensed_plan.capitalize()}"]
    if status.status == "grace":
        lines.append(f"Status: {status.warning}")
    elif status.status == "restricted":
        lines.append("Status: RESTRICTED — Offline grace period expired (Community features only)")
    elif status.status == "device_limit":
        lines.append(
            f"Status: Device limit exceeded (409): {status.devices_registered or '?'}/"
            f"{status.devices_allowed or '?'} registered — deregister a device or upgrade the plan"
        )
    elif status.status in ("active", "community"):
        lines.append(f"Status: {status.status.capitalize()}")
    else:
        lines.append(f"Status: {status.status.replace('_', ' ').capitalize()}: {status.message}")
    if status.expires:
        days = (status.expires - now.date()).days
        lines.append(f"Expires: {status.expires.isoformat()} ({days} days remaining)")
    if status.last_validated and status.status in ("grace", "restricted"):
        ago = (now - status.last_validated).total_seconds()
        stamp = status.last_validated.strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"Last validated: {stamp} ({int(ago // 3600)}h {int(ago % 3600 // 60)}m ago)")
    if status.fingerprint:
        seats = ""
        if status.devices_allowed:
            seats = f" ({status.devices_registered}/{status.devices_allowed} registered)"
        lines.append(f"Device: {status.fingerprint[:12]}...{seats}")
    lines.append("Feature Flags:")
    limits = ("max_managed_devices", "max_network_devices")
    for name, value in status.features.items():
        if name not in limits:
            lines.append(f"  {name:<26} {str(bool(value)).lower()}")
    lines.append("Device Limits:")
    for name in limits:
        lines.append(f"  {name:<26} {status.features.get(name)}")
    return "\n".join(lines)


@click.group("license")
def license_group() -> None:
    """The license of this machine, and the license server's admin commands."""


@license_group.command("info")
@click.option("--refresh", is_flag=True, help="Validate with the license server now.")
def info(refresh: bool) -> None:
    """Plan, status, expiry, device seats, feature flags and limits."""
    import structlog

    from network_discovery.licensing import verifier

    if not structlog.is_configured():  # keep stdout for the layout; logs go to stderr
        structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=sys.stderr))
    try:
        status = verifier.Verifier().status(refresh=refresh)
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read the license configuration: {exc}") from exc
    click.echo(render_info(status))
    if status.status in ("not_found", "invalid", "expired", "device_limit"):
        raise SystemExit(1)


def _admin_options(fn: Any) -> Any:
    fn = click.option("--server", envvar=ADMIN_URL_ENV, required=True, help="License server URL.")(
        fn
    )
    return click.option(
        "--admin-token", envvar=ADMIN_TOKEN_ENV, required=True, help="Admin token (env only)."
    )(fn)


def _key_id(key: str) -> str:
    if protocol.KEY_RE.match(key):
        return protocol.key_id(key)
    if len(key) == 64 and all(c in "0123456789abcdef" for c in key):
        return key
    raise CliError("give a license key (mq-<plan>-...) or its 64-character key id")


def _call(server: str, token: str, method: str, path: str, **kw: Any) -> Any:
    try:
        r = httpx.request(
            method,
            server.rstrip("/") + path,
            headers={"Authorization": f"Bearer {token}"},
            timeout=15,
            **kw,
        )
    except httpx.HTTPError as exc:
        raise CliError(f"license server {server} unreachable: {type(exc).__name__}") from exc
    if r.status_code >= 400:
        raise CliError(f"license server answered {ApiError.from_response(r)}")
    return r.json() if r.content else None


@license_group.command("issue")
@click.option("--plan", type=click.Choice(["community", "starter", "pro", "enterprise"]))
@click.option("--expires", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--customer", default="")
@_admin_options
def issue(plan: str, expires: datetime, customer: str, server: str, admin_token: str) -> None:
    """Issue a key (shown once)."""
    body = {"plan": plan, "expiration_date": expires.date().isoformat(), "customer": customer}
    out = _call(server, admin_token, "POST", "/v1/admin/licenses", json=body)
    click.echo(out["key"])


@license_group.command("renew")
@click.argument("key")
@click.option("--expires", type=click.DateTime(["%Y-%m-%d"]), required=True)
@_admin_options
def renew(key: str, expires: datetime, server: str, admin_token: str) -> None:
    """Move a key's expiration date."""
    path = f"/v1/admin/licenses/{_key_id(key)}/renew"
    out = _call(server, admin_token, "POST", path, json={"expiration_date": _d(expires)})
    click.echo(f"renewed until {out['expiration_date']}")


@license_group.command("revoke")
@click.argument("key")
@_admin_options
def revoke(key: str, server: str, admin_token: str) -> None:
    """Revoke a key (answers 403, then 404 once purged)."""
    _call(server, admin_token, "POST", f"/v1/admin/licenses/{_key_id(key)}/revoke")
    click.echo("revoked")


@license_group.command("devices")
@click.argument("key")
@_admin_options
def devices(key: str, server: str, admin_token: str) -> None:
    """List the devices registered against a key."""
    out = _call(server, admin_token, "GET", f"/v1/admin/licenses/{_key_id(key)}/devices")
    click.echo(f"{len(out['devices'])}/{out['max_devices']} registered")
    for d in out["devices"]:
        click.echo(f"  {d['fingerprint']}  {d['hostname']}  last seen {d['last_seen']}")


@license_group.command("deregister")
@click.argument("key")
@click.argument("fingerprint")
@_admin_options
def deregister(key: str, fingerprint: str, server: str, admin_token: str) -> None:
    """Free a device's seat at once."""
    path = f"/v1/admin/licenses/{_key_id(key)}/devices/{fingerprint}"
    _call(server, admin_token, "DELETE", path)
    click.echo("deregistered")


def _d(value: datetime) -> str:
    return date(value.year, value.month, value.day).isoformat()


def _grace_warning() -> None:
    """The grace warning on every command, from the cache alone (no network)."""
    try:
        from network_discovery.licensing import verifier

        if verifier.resolve_key() is None:
            return
        warning = verifier.Verifier().peek().warning
    except Exception:  # a broken license setup must not break unrelated commands
        return
    if warning:
        click.echo(f"meshq: {warning}", err=True)


def install(cli: click.Group) -> None:
    """Add ``meshq license`` and the grace warning printed before every command."""
    cli.add_command(license_group)
    callback = cli.callback
    assert callback is not None, "the meshq group has a body to wrap"

    @functools.wraps(callback)
    def with_warning(*args: Any, **kwargs: Any) -> Any:
        if not os.environ.get("MESHQ_NO_LICENSE_WARNING"):
            _grace_warning()
        return callback(*args, **kwargs)

    cli.callback = with_warning
