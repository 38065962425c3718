"""Getting snapshots into the graph: read them from disk, publish them, wait for the result."""

from network_discovery.ingest.load import IngestInputError, load_path, read_path
from network_discovery.ingest.publish import IngestOutcome, publish_snapshot

__all__ = ["IngestInputError", "IngestOutcome", "load_path", "publish_snapshot", "read_path"]
