"""MeshOptixIQ netbox-sync service."""
