"""``meshq-ansible-inventory``: an inventory script Ansible runs itself.

    ansible-inventory -i "$(command -v meshq-ansible-inventory)" --graph
    ansible-playbook -i "$(command -v meshq-ansible-inventory)" site.yml

It asks the REST API (``MESHOPTIXIQ_API_URL``, ``MESHOPTIXIQ_API_KEY``, or the stack that
``meshq serve`` runs here) for ``GET /inventory/ansible`` and prints it: ``--list`` the whole
inventory with ``_meta.hostvars``, ``--host NAME`` one host's variables.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["main"]


def _fetch() -> dict[str, Any]:
    from network_discovery.client import ClientError, MeshqClient

    try:
        with MeshqClient.from_env(timeout=60) as client:
            return client.ansible_inventory()
    except ClientError as exc:
        raise SystemExit(f"meshq-ansible-inventory: {exc}") from exc


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="meshq-ansible-inventory",
        description="Ansible dynamic inventory from the MeshOptixIQ graph.",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--list", action="store_true", help="the whole inventory")
    mode.add_argument("--host", metavar="NAME", help="one host's variables")
    args = parser.parse_args(argv)
    inventory = _fetch()
    if args.list:
        out: Any = inventory
    else:
        out = inventory.get("_meta", {}).get("hostvars", {}).get(args.host, {})
    json.dump(out, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
