"""Names that configurations use for ports and ICMP types (Cisco keywords, Junos
predefined applications)."""

from __future__ import annotations

from network_discovery.model import Service

__all__ = ["CISCO_PORTS", "ICMP_TYPES", "JUNOS_APPLICATIONS", "port_number"]

#: Cisco ASA and IOS port keywords (the same names on both, TCP and UDP alike here).
CISCO_PORTS = {
    "aol": 5190, "bgp": 179, "biff": 512, "bootpc": 68, "bootps": 67, "chargen": 19,
    "cifs": 445, "citrix-ica": 1494, "cmd": 514, "ctiqbe": 2748, "daytime": 13,
    "discard": 9, "dnsix": 195, "domain": 53, "echo": 7, "exec": 512, "finger": 79,
    "ftp": 21, "ftp-data": 20, "gopher": 70, "h323": 1720, "hostname": 101, "http": 80,
    "https": 443, "ident": 113, "imap4": 143, "irc": 194, "isakmp": 500, "kerberos": 88,
    "klogin": 543, "kshell": 544, "ldap": 389, "ldaps": 636, "login": 513,
    "lotusnotes": 1352, "lpd": 515, "mobile-ip": 434, "nameserver": 42,
    "netbios-dgm": 138, "netbios-ns": 137, "netbios-ss": 139, "netbios-ssn": 139,
    "nfs": 2049, "nntp": 119, "non500-isakmp": 4500, "ntp": 123, "pcanywhere-data": 5631,
    "pcanywhere-status": 5632, "pim-auto-rp": 496, "pop2": 109, "pop3": 110, "pptp": 1723,
    "radius": 1645, "radius-acct": 1646, "rip": 520, "rsh": 514, "rtsp": 554,
    "secureid-udp": 5510, "sip": 5060, "smtp": 25, "snmp": 161, "snmptrap": 162,
    "sqlnet": 1521, "ssh": 22, "sunrpc": 111, "syslog": 514, "tacacs": 49, "talk": 517,
    "telnet": 23, "tftp": 69, "time": 37, "uucp": 540, "vxlan": 4789, "who": 513,
    "whois": 43, "www": 80, "xdmcp": 177,
}  # fmt: skip

#: ICMP type names (Cisco keywords).
ICMP_TYPES = {
    "echo-reply": 0, "unreachable": 3, "source-quench": 4, "redirect": 5,
    "alternate-address": 6, "echo": 8, "router-advertisement": 9,
    "router-solicitation": 10, "time-exceeded": 11, "parameter-problem": 12,
    "timestamp-request": 13, "timestamp-reply": 14, "information-request": 15,
    "information-reply": 16, "mask-request": 17, "mask-reply": 18, "traceroute": 30,
    "conversion-error": 31, "mobile-redirect": 32, "packet-too-big": 2,
}  # fmt: skip


def _svc(text: str) -> tuple[Service, ...]:
    return tuple(Service.parse(part) for part in text.split(";"))


#: Junos predefined applications this product knows (``junos-*``), as services.
JUNOS_APPLICATIONS: dict[str, tuple[Service, ...]] = {
    name: _svc(text)
    for name, text in {
        "any": "any",
        "junos-bgp": "tcp dst 179",
        "junos-dhcp-client": "udp dst 68",
        "junos-dhcp-server": "udp dst 67",
        "junos-dns-tcp": "tcp dst 53",
        "junos-dns-udp": "udp dst 53",
        "junos-ftp": "tcp dst 21",
        "junos-http": "tcp dst 80",
        "junos-https": "tcp dst 443",
        "junos-icmp-all": "icmp",
        "junos-icmp-ping": "icmp type 8",
        "junos-icmp6-all": "icmpv6",
        "junos-ike": "udp dst 500",
        "junos-imap": "tcp dst 143",
        "junos-ldap": "tcp dst 389",
        "junos-mail": "tcp dst 25",
        "junos-ms-sql": "tcp dst 1433",
        "junos-mysql": "tcp dst 3306",
        "junos-nfs": "udp dst 2049;tcp dst 2049",
        "junos-ntp": "udp dst 123",
        "junos-ospf": "89",
        "junos-ping": "icmp type 8",
        "junos-pop3": "tcp dst 110",
        "junos-radius": "udp dst 1812",
        "junos-rdp": "tcp dst 3389",
        "junos-smb": "tcp dst 139;tcp dst 445",
        "junos-smtp": "tcp dst 25",
        "junos-snmp-agentx": "tcp dst 705",
        "junos-ssh": "tcp dst 22",
        "junos-syslog": "udp dst 514",
        "junos-telnet": "tcp dst 23",
        "junos-tftp": "udp dst 69",
        "junos-traceroute": "udp dst 33435-33690",
        "junos-vnc": "tcp dst 5800;tcp dst 5900",
    }.items()
}


def port_number(word: str) -> int:
    """A port given as a number or a Cisco keyword."""
    if word.isdigit() and int(word) <= 65535:
        return int(word)
    if word.lower() in CISCO_PORTS:
        return CISCO_PORTS[word.lower()]
    raise ValueError(f"unknown port {word!r}")
