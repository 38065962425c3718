"""The routes OSPF and BGP would install, worked out once every device of a directory is
read: the configurations of all of them together decide each one's table."""

from __future__ import annotations

import structlog

from network_discovery.derive.routing import RoutedDevice, RoutingConfig, derive_routes
from network_discovery.model import FactKind
from network_discovery.parsers._device import DeviceFacts
from network_discovery.parsers.report import ParseIssue, ParseReport

__all__ = ["add_protocol_routes"]

log = structlog.get_logger(__name__)


def add_protocol_routes(parsed: list[DeviceFacts], report: ParseReport) -> None:
    """Give every device with a configuration the OSPF and BGP routes its configuration and
    its neighbours' configurations decide (marked ``derived``; where the device's printed
    table was read, that table stays the one forwarding uses); what a configuration asks
    for that is not computed is reported as a warning."""
    devices = [
        RoutedDevice(
            dev.device,
            dev.routing,
            interfaces=dev.interfaces,
            addresses=dev.ip_addresses,
            routes=dev.routes,
            collected=dev.routes_collected,
        )
        for dev in parsed
        if isinstance(dev.routing, RoutingConfig)
    ]
    if not any(d.config.ospf or d.config.bgp or d.config.generated for d in devices):
        return
    derived = derive_routes(devices)
    by_name = {dev.device: dev for dev in parsed}
    for device in devices:
        routes = derived.get(device.device)
        if routes is None:
            continue
        facts = by_name[device.device]
        facts.routes.extend(routes)
        facts.kinds.add(FactKind.ROUTES)
        for note in device.notes:
            report.add(
                ParseIssue(device.device, f"routes: {note}", device.device, severity="warning")
            )
        log.debug("parsers.protocol_routes", device=device.device, routes=len(routes))
