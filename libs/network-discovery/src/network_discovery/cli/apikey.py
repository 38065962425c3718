"""``meshq apikey create|list|revoke``: named API keys with RBAC groups, for the REST gateway.

Keys are stored hashed (SHA-256 of 32 random bytes) in ``MESHQ_API_KEYS_FILE``, default
``$MESHQ_DATA_DIR/api_keys.json`` (mode 0600); the key itself is shown once, at creation. Every
gateway that reads the same file picks up a new or revoked key within a second.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from network_discovery.cli._common import CliError

__all__ = ["apikey", "keys_file"]

KEY_PREFIX = "mqk_"


#: Names a named key may not take: the admin key's identity, and what the audit log writes
#: for a caller without one.
RESERVED_NAMES = frozenset({"admin", "anonymous"})
_NAME = re.compile(r"^[A-Za-z0-9._@-]+$")


def keys_file(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit
    if os.environ.get("MESHQ_API_KEYS_FILE"):
        return Path(os.environ["MESHQ_API_KEYS_FILE"])
    data = os.environ.get("MESHQ_DATA_DIR")
    base = Path(data) if data else Path.home() / ".meshoptixiq" / "data"
    return base / "api_keys.json"


def _load(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"version": 1, "keys": []}
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise click.ClickException(f"{path} is not a MeshOptixIQ API key file")
    return doc


def _save(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".api_keys.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(doc, out, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_FILE = click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Key file (default $MESHQ_API_KEYS_FILE, else $MESHQ_DATA_DIR/api_keys.json).",
)


@click.group()
def apikey() -> None:
    """Named API keys for the REST API (X-API-Key), each with RBAC groups."""


@apikey.command("create")
@click.argument("name")
@click.option("--group", "groups", multiple=True, help="RBAC group (repeat for several).")
@_FILE
def create(name: str, groups: tuple[str, ...], file: Path | None) -> None:
    """Make a key called NAME; it is printed once and stored only as a hash."""
    name = name.strip()
    if not name or len(name) > 64:
        raise CliError("the key name must be 1 to 64 characters")
    if not _NAME.match(name):
        raise CliError("the key name may hold letters, digits, '.', '_', '-' and '@' only")
    if name.lower() in RESERVED_NAMES:
        raise CliError(f"{name!r} is reserved for the installation's admin key; pick another name")
    path = keys_file(file)
    doc = _load(path)
    if any(k["name"].lower() == name.lower() and not k.get("revoked_at") for k in doc["keys"]):
        raise CliError(f"an active key named {name!r} exists; revoke it first or pick another name")
    ident = secrets.token_hex(4)
    token = f"{KEY_PREFIX}{ident}_{secrets.token_urlsafe(32)}"
    doc["keys"].append(
        {
            "id": ident,
            "name": name,
            "groups": sorted(set(groups)),
            "sha256": hashlib.sha256(token.encode()).hexdigest(),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "revoked_at": None,
        }
    )
    _save(path, doc)
    click.echo(token)
    click.echo(f"created key {ident} ({name}); shown once, keep it safe", err=True)


@apikey.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_FILE
def list_keys(as_json: bool, file: Path | None) -> None:
    """Every key: id, name, groups, when made and revoked (never the key)."""
    keys = [{k: v for k, v in e.items() if k != "sha256"} for e in _load(keys_file(file))["keys"]]
    if as_json:
        click.echo(json.dumps(keys, indent=2))
        return
    if not keys:
        click.echo("no API keys")
        return
    click.echo(f"{'ID':<10} {'NAME':<24} {'STATE':<8} {'CREATED':<26} GROUPS")
    for key in keys:
        state = "revoked" if key.get("revoked_at") else "active"
        groups = ",".join(key.get("groups", [])) or "-"
        click.echo(f"{key['id']:<10} {key['name']:<24} {state:<8} {key['created_at']:<26} {groups}")


@apikey.command("revoke")
@click.argument("key")
@_FILE
def revoke(key: str, file: Path | None) -> None:
    """Revoke the key with this id or name."""
    path = keys_file(file)
    doc = _load(path)
    found = [k for k in doc["keys"] if key in (k["id"], k["name"]) and not k.get("revoked_at")]
    if not found:
        raise CliError(f"no active key with id or name {key!r}; 'meshq apikey list' shows them")
    if len(found) > 1:
        raise CliError(f"{key!r} names several keys; revoke by id")
    found[0]["revoked_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    _save(path, doc)
    click.echo(f"revoked key {found[0]['id']} ({found[0]['name']})")
