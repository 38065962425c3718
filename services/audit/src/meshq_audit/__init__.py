"""MeshOptixIQ audit service."""
