"""``meshq audit verify|export`` and ``meshq soar replay``: talk to the audit and SOAR services.

The services are found through ``MESHQ_AUDIT_URL`` / ``MESHQ_SOAR_DISPATCHER_URL``, else the
``audit`` / ``soar_dispatcher`` entries of ``meshq serve``'s endpoints file. Their APIs are
internal: every call carries the installation's service credential, ``MESHQ_SERVICE_TOKEN``,
else the one ``meshq serve`` keeps in its data directory (``run/service_token``).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click
import httpx

from network_discovery.cli.stack import StackNotFound, endpoints_file
from network_discovery.service_auth import (
    SERVICE_TOKEN_ENV,
    read_service_token,
    service_headers,
    token_file,
)

__all__ = ["audit", "install", "soar"]


def _service_url(env_name: str, key: str) -> str:
    url = os.environ.get(env_name)
    if not url:
        path = endpoints_file()
        if path.exists():
            try:
                url = json.loads(path.read_text()).get(key)
            except (OSError, ValueError) as exc:
                raise StackNotFound(f"cannot read {path}: {exc}") from exc
    if not url:
        raise StackNotFound(
            f"no {key} service found: start one with 'meshq serve', or set {env_name}"
        )
    return str(url).rstrip("/")


def _internal_headers() -> dict[str, str]:
    """The service credential's headers; a clear error when there is none to send."""
    token = read_service_token()
    if token is None:
        where = token_file(endpoints_file().parent.parent)
        raise StackNotFound(
            f"no service credential: set {SERVICE_TOKEN_ENV} to the installation's, or run "
            f"this where 'meshq serve' keeps it ({where})"
        )
    return service_headers(token, "cli")


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    detail = body.get("detail") or body.get("title") or f"HTTP {response.status_code}"
    fields = [e.get("field") for e in body.get("errors") or [] if e.get("field")]
    return f"{detail} ({', '.join(fields)})" if fields else str(detail)


def _call(method: str, url: str, **kw: Any) -> httpx.Response:
    try:
        response = httpx.request(
            method, url, timeout=kw.pop("timeout", 300), headers=_internal_headers(), **kw
        )
    except httpx.HTTPError as exc:
        raise StackNotFound(f"cannot reach {url}: {type(exc).__name__}: {exc}") from exc
    if response.status_code >= 400:
        raise StackNotFound(_problem(response))
    return response


@click.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
@click.option(
    "--from",
    "start",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="First record to check (the one before it anchors the walk).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the service's answer as JSON.")
def verify(start: int, as_json: bool) -> None:
    """Walk the hash chain; exit 1 naming the first changed, deleted, inserted or reordered
    record."""
    base = _service_url("MESHQ_AUDIT_URL", "audit")
    result = _call("GET", f"{base}/audit/verify", params={"from": start}).json()
    if as_json:
        click.echo(json.dumps(result, indent=2))
    brk = result.get("break")
    if brk is None:
        if not as_json:
            points = result.get("checkpoints") or 0
            against = f", against {points} signed checkpoint(s)" if points else ""
            click.echo(
                f"audit log intact: {result['checked']} record(s) from {result['from']} "
                f"to {result['last_seq']} verified{against}"
            )
        return
    click.echo(
        f"meshq: audit log broken at record {brk['seq']}: {brk['kind']} ({brk['reason']})",
        err=True,
    )
    sys.exit(1)


@audit.command("export")
@click.option("--since", default=None, help="RFC 3339 time, e.g. 2026-03-06T00:00:00Z.")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option("--output", "-o", type=click.File("wb"), default="-", help="File (default stdout).")
def export(since: str | None, fmt: str, output: Any) -> None:
    """Write audit records (all, or those at or after --since) as JSON lines or CSV."""
    base = _service_url("MESHQ_AUDIT_URL", "audit")
    params = {"format": fmt, **({"since": since} if since else {})}
    try:
        with httpx.stream(
            "GET",
            f"{base}/audit/export",
            params=params,
            headers=_internal_headers(),
            timeout=300,
        ) as resp:
            if resp.status_code >= 400:
                resp.read()
                raise StackNotFound(_problem(resp))
            for chunk in resp.iter_bytes():
                output.write(chunk)
    except httpx.HTTPError as exc:
        raise StackNotFound(f"cannot reach {base}: {type(exc).__name__}: {exc}") from exc


@click.group()
def soar() -> None:
    """SOAR webhooks."""


@soar.command("replay")
def replay() -> None:
    """Send every dead-lettered webhook again (once each; failures are dead-lettered again)."""
    base = _service_url("MESHQ_SOAR_DISPATCHER_URL", "soar_dispatcher")
    counts = _call("POST", f"{base}/soar/replay").json()
    click.echo(
        f"replayed {counts['replayed']}: {counts['delivered']} delivered, "
        f"{counts['dead_lettered']} dead-lettered again, {counts['skipped']} skipped"
    )
    if counts["dead_lettered"]:
        sys.exit(1)


def install(cli: click.Group) -> None:
    """Register ``meshq audit`` and ``meshq soar``."""
    cli.add_command(audit)
    cli.add_command(soar)
