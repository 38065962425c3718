"""Shared plumbing for the MeshOptixIQ services."""

__all__: list[str] = []
