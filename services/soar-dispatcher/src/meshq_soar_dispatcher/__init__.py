"""MeshOptixIQ soar-dispatcher service."""
