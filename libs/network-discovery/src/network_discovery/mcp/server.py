"""``meshq-mcp``: the MCP server for AI assistants.

It speaks MCP over stdio and reaches the network through the REST API named by
``MESHOPTIXIQ_API_URL`` with ``MESHOPTIXIQ_API_KEY``.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    print(
        "meshq-mcp: the MCP tools are not part of this build yet; "
        "the REST API (meshq serve) is available meanwhile",
        file=sys.stderr,
    )
    sys.exit(2)


if __name__ == "__main__":
    main()
