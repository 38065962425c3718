"""``meshq export --format ansible --output FILE``: the Ansible inventory, written atomically.

The file is written beside its final name and renamed over it, so Ansible never reads half an
inventory. ``FILE`` ending in ``.ini`` gets the INI format, anything else JSON (the format an
inventory plugin such as ``ansible.builtin.yaml`` or a ``--list`` script produces).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import click

from network_discovery.cli._api import api
from network_discovery.cli._common import CliError

__all__ = ["export"]


def _check_target(output: Path) -> Path:
    target = output.expanduser()
    if target.is_dir():
        raise CliError(f"{target} is a directory; give a file name, e.g. {target}/meshq.json")
    parent = target.parent.resolve()
    if not parent.is_dir():
        raise CliError(f"cannot write {target}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CliError(
            f"cannot write {target}: you may not write to {parent}; choose a directory you "
            "can write (or run with the rights to write there)"
        )
    return target


def write_atomically(target: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@click.command()
@click.option(
    "--format", "fmt", type=click.Choice(["ansible"]), required=True, help="What to export."
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    required=True,
    help="File to write (.ini for Ansible's INI format, else JSON).",
)
def export(fmt: str, output: Path) -> None:
    """Export the graph's devices for another tool (today: an Ansible inventory)."""
    target = _check_target(output)
    kind = "ini" if target.suffix.lower() == ".ini" else "json"
    with api() as client:
        text = client.ansible_inventory_text("ini" if kind == "ini" else "json")
    if kind == "json" and not text.endswith("\n"):
        text += "\n"
    try:
        write_atomically(target, text)
    except OSError as exc:
        raise CliError(f"cannot write {target}: {exc.strerror or exc}") from exc
    click.echo(f"wrote the {fmt} inventory ({kind}) to {target}")
