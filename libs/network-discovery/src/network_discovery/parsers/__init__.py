"""Parsing real device output into the native snapshot.

A directory laid out as ``DIR/<hostname>/<command>.txt`` plus ``DIR/<hostname>/meta.yaml``
(which names the platform) is read with TextFSM: ntc-templates' templates where they fit the
output devices print, our own under ``parsers/templates`` where they do not. See
``docs/ingest-cli-output.md`` for the layout, the file names and what each yields.
"""

from network_discovery.parsers._commands import (
    COMMANDS,
    JSON_ADAPTERS,
    PLATFORMS,
    CommandSpec,
    find_command,
)
from network_discovery.parsers._device import CommandOutput, DeviceFacts, parse_device
from network_discovery.parsers.directory import (
    META_FILE,
    META_KEYS,
    load_snapshot_file,
    parse_directory,
    snapshot_from_facts,
)
from network_discovery.parsers.report import DeviceSummary, ParseIssue, ParseReport

__all__ = [
    "COMMANDS",
    "JSON_ADAPTERS",
    "META_FILE",
    "META_KEYS",
    "PLATFORMS",
    "CommandOutput",
    "CommandSpec",
    "DeviceFacts",
    "DeviceSummary",
    "ParseIssue",
    "ParseReport",
    "find_command",
    "load_snapshot_file",
    "parse_device",
    "parse_directory",
    "snapshot_from_facts",
]
