"""Platform names shared by discovery and the services that read the graph.

:data:`NETBOX_PLATFORMS` maps NetBox platform slugs (lower case, ``_`` read as ``-``) to the
product's platform names: a NetBox inventory source gives its devices these platforms, and the
Ansible inventory falls back on them for a device that discovery gave no platform.
"""

from __future__ import annotations

__all__ = ["NETBOX_PLATFORMS"]

#: NetBox platform slugs (lower case, ``_`` read as ``-``) -> our platforms.
NETBOX_PLATFORMS = {
    **{slug: "cisco_ios" for slug in ("ios", "cisco-ios", "ios-xe", "iosxe", "cisco-ios-xe")},
    **{slug: "cisco_nxos" for slug in ("nxos", "nx-os", "cisco-nxos", "cisco-nx-os")},
    **{slug: "arista_eos" for slug in ("eos", "arista-eos")},
    **{slug: "juniper_junos" for slug in ("junos", "juniper-junos", "juniper")},
}
