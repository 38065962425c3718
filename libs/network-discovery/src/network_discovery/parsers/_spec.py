"""What one command on one platform is: its names, how each output format of it is read, and
the fact kinds it yields. The per-platform tables (``_platform_*``) are built from these."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from network_discovery.model import FactKind
from network_discovery.parsers import _map_inventory as inv
from network_discovery.parsers import _map_observations as obs
from network_discovery.parsers._configs import ConfigParser
from network_discovery.parsers._context import DeviceContext, Partial
from network_discovery.parsers._textfsm import TemplateRef

__all__ = [
    "CommandSpec",
    "JsonAdapter",
    "Mapper",
    "cdp_specs",
    "config_spec",
    "lldp_specs",
    "ntc",
    "own",
    "route_specs",
    "version_spec",
]

Mapper = Callable[[dict[str, Any], DeviceContext], Iterator[Partial]]
#: A parsed JSON document (``| json``, ``| display json``, or XML turned into the same
#: shape) -> the rows the command's text template yields, so one mapper serves both.
JsonAdapter = Callable[[Any], list[dict[str, Any]]]
K = FactKind


@dataclass(frozen=True)
class CommandSpec:
    """One command on one platform: its template, JSON adapter, fact kinds and mapper.

    ``command`` is the full command as the vendor documents it; ``variants`` are other full
    forms that print the same thing (``show ip arp vrf all``); both are matched with the
    vendor's abbreviation rules (see :mod:`network_discovery.parsers._resolve`).
    ``aliases`` are file stems kept for compatibility with earlier layouts.
    ``group`` names commands that say the same thing in a brief and a detailed form
    (``lldp``, ``cdp``): when both files are there, the one with the higher ``rank`` wins.
    A spec with a ``parser`` reads the whole file with it instead of a template and mapper;
    one with only ``json`` reads structured output alone (save the text form as JSON).
    """

    command: str
    template: TemplateRef | None
    kinds: tuple[FactKind, ...]
    mapper: Mapper | None
    aliases: tuple[str, ...] = ()
    group: str | None = None
    rank: int = 0
    parser: ConfigParser | None = None
    json: JsonAdapter | None = None
    variants: tuple[str, ...] = ()
    #: What the template leaves out of a text output and the JSON form carries: read from
    #: the whole text and added to every row (the NX-OS chassis line, say).
    enrich: Callable[[str], dict[str, Any]] | None = None
    #: The formats ``parser`` reads (a host described in JSON is read by its parser).
    parser_formats: tuple[str, ...] = ("text",)

    @property
    def file_stem(self) -> str:
        return self.command.replace(" ", "_")

    @property
    def reads_text(self) -> bool:
        return self.parser is not None or self.template is not None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.command, *self.variants)


def ntc(name: str) -> TemplateRef:
    return TemplateRef(name, "ntc")


def own(name: str) -> TemplateRef:
    return TemplateRef(name, "own")


def config_spec(
    command: str,
    parser: ConfigParser,
    *kinds: FactKind,
    aliases: tuple[str, ...] = (),
    variants: tuple[str, ...] = (),
    formats: tuple[str, ...] = ("text",),
) -> CommandSpec:
    return CommandSpec(
        command,
        None,
        kinds or (K.FIREWALL,),
        None,
        aliases,
        parser=parser,
        variants=variants,
        parser_formats=formats,
    )


def version_spec(p: str, json: JsonAdapter | None = None) -> CommandSpec:
    return CommandSpec(
        "show version", ntc(f"{p}_show_version.textfsm"), (K.DEVICE,), inv.map_version, json=json
    )


def _neighbour_specs(
    p: str,
    protocol: str,
    mappers: tuple[Mapper, Mapper],
    detail_json: JsonAdapter | None,
    brief_json: JsonAdapter | None,
) -> list[CommandSpec]:
    """``show <protocol> neighbors detail`` (preferred when both are there) and the brief
    ``show <protocol> neighbors``."""
    kind = K(protocol)
    return [
        CommandSpec(
            f"show {protocol} neighbors{suffix}",
            ntc(f"{p}_show_{protocol}_neighbors{suffix.replace(' ', '_')}.textfsm"),
            (kind,),
            mapper,
            group=protocol,
            rank=rank,
            json=json,
        )
        for suffix, mapper, rank, json in (
            (" detail", mappers[0], 1, detail_json),
            ("", mappers[1], 0, brief_json),
        )
    ]


def lldp_specs(
    p: str, *, detail_json: JsonAdapter | None = None, brief_json: JsonAdapter | None = None
) -> list[CommandSpec]:
    return _neighbour_specs(p, "lldp", (obs.map_lldp, obs.map_lldp_brief), detail_json, brief_json)


def cdp_specs(
    p: str, *, detail_json: JsonAdapter | None = None, brief_json: JsonAdapter | None = None
) -> list[CommandSpec]:
    return _neighbour_specs(p, "cdp", (obs.map_cdp, obs.map_cdp_brief), detail_json, brief_json)


def route_specs(
    p: str,
    mapper: Mapper,
    *,
    vrf_all: str = "show ip route vrf all",
    vrf_one: str | None = None,
    json: JsonAdapter | None = None,
) -> list[CommandSpec]:
    """``show ip route`` (the default table) and its every-VRF form; both may be given."""
    template = ntc(f"{p}_show_ip_route.textfsm")
    return [
        CommandSpec("show ip route", template, (K.ROUTES,), mapper, json=json),
        CommandSpec(
            vrf_all,
            template,
            (K.ROUTES,),
            mapper,
            aliases=("show_ip_route_vrf_all",),
            json=json,
            variants=(vrf_one,) if vrf_one else (),
        ),
    ]
