"""Which commands are understood on which platform: the registry built from the per-platform
tables (``_platform_*``), and the lookup of a command by its file stem."""

from __future__ import annotations

from network_discovery.parsers._platform_eos import SPECS as _EOS
from network_discovery.parsers._platform_ios import SPECS as _IOS
from network_discovery.parsers._platform_junos import SPECS as _JUNOS
from network_discovery.parsers._platform_nxos import SPECS as _NXOS
from network_discovery.parsers._platform_other import ASA_SPECS, LINUX_SPECS
from network_discovery.parsers._spec import CommandSpec, JsonAdapter

__all__ = ["COMMANDS", "JSON_ADAPTERS", "PLATFORMS", "CommandSpec", "find_command"]

#: Platform -> the commands understood there.
COMMANDS: dict[str, tuple[CommandSpec, ...]] = {
    "cisco_ios": tuple(_IOS),
    "cisco_nxos": tuple(_NXOS),
    "arista_eos": tuple(_EOS),
    "juniper_junos": tuple(_JUNOS),
    "cisco_asa": tuple(ASA_SPECS),
    "linux": tuple(LINUX_SPECS),
}
PLATFORMS = tuple(COMMANDS)

#: Platform -> command -> its JSON adapter (what live collection asks for as ``| json``).
JSON_ADAPTERS: dict[str, dict[str, JsonAdapter]] = {
    platform: {spec.command: spec.json for spec in specs if spec.json is not None}
    for platform, specs in COMMANDS.items()
}


def find_command(platform: str, file_stem: str) -> CommandSpec | None:
    """The command a file holds on ``platform``, from its name without the extension, by
    the vendor's rules (abbreviations, unique prefixes, ``| json`` and other pipes, any
    separator); None when it is not a command read there."""
    from network_discovery.parsers._names import resolve_name

    return resolve_name(platform, file_stem).spec
