"""MeshOptixIQ query-gateway service."""
