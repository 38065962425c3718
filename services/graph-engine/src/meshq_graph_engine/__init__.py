"""MeshOptixIQ graph-engine service."""
