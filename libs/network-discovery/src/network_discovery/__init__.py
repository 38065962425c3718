"""MeshOptixIQ network discovery: what a customer installs."""

__version__ = "0.1.0"
__all__ = ["__version__"]
