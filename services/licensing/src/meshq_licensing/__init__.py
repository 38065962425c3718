"""MeshOptixIQ licensing service."""
