"""MeshOptixIQ mcp-bridge service."""
