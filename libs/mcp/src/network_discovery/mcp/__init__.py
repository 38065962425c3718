"""The MCP server (the ``[mcp]`` extra)."""
