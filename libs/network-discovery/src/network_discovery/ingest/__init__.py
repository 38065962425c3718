"""Getting snapshots into the graph: read them from disk (native snapshots, CLI-output
directories, configurations); ``meshq ingest`` then submits them through the REST API."""

from network_discovery.ingest.load import IngestInputError, load_path, read_path

__all__ = ["IngestInputError", "load_path", "read_path"]
