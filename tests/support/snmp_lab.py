"""The discovery lab's three switches as SNMP agents: `.snmprec` walks and snmpsim.

``python tests/support/snmp_lab.py`` rewrites ``tests/fixtures/discovery/snmp/<host>.snmprec``
from the description below, the same topology as the CLI outputs of
``tests/fixtures/discovery/lab`` (core1 Arista, acc1/acc2 Cisco; LLDP agrees; two desks).
The LLDP management addresses are the agents' own (127.0.0.21-23; acc3 at 127.0.0.24 has no
agent; ext-rtr1 at 10.99.0.1 lies outside every allowed network), so a crawl over SNMP finds the
lab from core1.
core1 answers Q-BRIDGE-MIB and ipNetToMedia + ipNetToPhysical; acc1 and acc2 answer the plain
BRIDGE-MIB forwarding table.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "discovery" / "snmp"
COMMUNITY = "lab-community"
V3_USER, V3_AUTH_KEY, V3_PRIV_KEY = "meshq", "lab-auth-key-1", "lab-priv-key-1"
ADDRESSES = {"core1": "127.0.0.21", "acc1": "127.0.0.22", "acc2": "127.0.0.23"}
#: acc3, which acc1 sees over LLDP: no agent answers there.
SILENT = "127.0.0.24"

EOS = "Arista Networks EOS version 4.30.2F running on an Arista Networks DCS-7050SX3-48YC8-R"
IOS = (
    "Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E8, "
    "RELEASE SOFTWARE (fc3)"
)
LLDP_REM = "1.0.8802.1.1.2.1.4.1.1"
LLDP_MAN = "1.0.8802.1.1.2.1.4.2.1"


def _mac(text: str) -> str:
    return text.replace(":", "").replace(".", "").lower()


def _s(value: str) -> str:
    return f"4|{value}"


def _x(value: str) -> str:
    return f"4x|{_mac(value)}"


def _ip_index(ip: str) -> str:
    return ip


def _device(
    name: str,
    descr: str,
    ifaces: list[tuple[int, str, str, str, str]],
    addresses: list[tuple[str, int, str]],
    lldp_ports: dict[int, str],
    neighbours: list[tuple[int, str, str, str, str, str, str]],
) -> dict[str, str]:
    """ifaces: (ifIndex, ifName, ifDescr, alias, mac); addresses: (ip, ifIndex, mask);
    neighbours: (local port num, sysName, chassis mac, port id, port desc, sysDescr, mgmt ip)."""
    rec = {
        "1.3.6.1.2.1.1.1.0": _s(descr),
        "1.3.6.1.2.1.1.2.0": "6|1.3.6.1.4.1.30065.1" if "Arista" in descr else "6|1.3.6.1.4.1.9.1",
        "1.3.6.1.2.1.1.3.0": "67|123456789",
        "1.3.6.1.2.1.1.5.0": _s(name),
    }
    for index, if_name, if_descr, alias, mac in ifaces:
        rec[f"1.3.6.1.2.1.2.2.1.1.{index}"] = f"2|{index}"
        rec[f"1.3.6.1.2.1.2.2.1.2.{index}"] = _s(if_descr)
        rec[f"1.3.6.1.2.1.2.2.1.3.{index}"] = "2|6"
        rec[f"1.3.6.1.2.1.2.2.1.4.{index}"] = "2|1500"
        rec[f"1.3.6.1.2.1.2.2.1.5.{index}"] = "66|1000000000"
        rec[f"1.3.6.1.2.1.2.2.1.6.{index}"] = _x(mac) if mac else "4|"
        rec[f"1.3.6.1.2.1.2.2.1.7.{index}"] = "2|1"
        rec[f"1.3.6.1.2.1.2.2.1.8.{index}"] = "2|1"
        rec[f"1.3.6.1.2.1.31.1.1.1.1.{index}"] = _s(if_name)
        rec[f"1.3.6.1.2.1.31.1.1.1.15.{index}"] = "66|1000"
        rec[f"1.3.6.1.2.1.31.1.1.1.18.{index}"] = _s(alias) if alias else "4|"
    for ip, index, mask in addresses:
        rec[f"1.3.6.1.2.1.4.20.1.1.{ip}"] = f"64|{ip}"
        rec[f"1.3.6.1.2.1.4.20.1.2.{ip}"] = f"2|{index}"
        rec[f"1.3.6.1.2.1.4.20.1.3.{ip}"] = f"64|{mask}"
    for port, text in lldp_ports.items():
        rec[f"1.0.8802.1.1.2.1.3.7.1.2.{port}"] = "2|5"
        rec[f"1.0.8802.1.1.2.1.3.7.1.3.{port}"] = _s(text)
    for rem, (port, sys_name, chassis, port_id, port_desc, sys_descr, mgmt) in enumerate(
        neighbours, start=1
    ):
        key = f"0.{port}.{rem}"
        rec[f"{LLDP_REM}.4.{key}"] = "2|4"
        rec[f"{LLDP_REM}.5.{key}"] = _x(chassis)
        rec[f"{LLDP_REM}.6.{key}"] = "2|5"
        rec[f"{LLDP_REM}.7.{key}"] = _s(port_id)
        rec[f"{LLDP_REM}.8.{key}"] = _s(port_desc)
        rec[f"{LLDP_REM}.9.{key}"] = _s(sys_name)
        rec[f"{LLDP_REM}.10.{key}"] = _s(sys_descr)
        rec[f"{LLDP_MAN}.3.{key}.1.4.{mgmt}"] = "2|2"
        rec[f"{LLDP_MAN}.4.{key}.1.4.{mgmt}"] = "2|1"
    return rec


def _mac_index(mac: str) -> str:
    raw = _mac(mac)
    return ".".join(str(int(raw[i : i + 2], 16)) for i in range(0, 12, 2))


def devices() -> dict[str, dict[str, str]]:
    desk21, desk22 = "00:50:56:00:00:21", "00:50:56:00:00:22"
    core = _device(
        "core1",
        EOS,
        [
            (1, "Ethernet1", "Ethernet1", "acc1 Gi1/0/49", "28:99:3a:20:00:11"),
            (2, "Ethernet2", "Ethernet2", "acc2 Gi1/0/49", "28:99:3a:20:00:12"),
            (3, "Ethernet3", "Ethernet3", "ext-rtr1 ge-0/0/0", "28:99:3a:20:00:13"),
            (999001, "Management1", "Management1", "", "28:99:3a:20:00:01"),
            (5010, "Vlan10", "Vlan10", "", "28:99:3a:20:00:01"),
        ],
        [
            ("10.10.0.1", 5010, "255.255.255.0"),
            ("10.99.0.2", 3, "255.255.255.252"),
            (ADDRESSES["core1"], 999001, "255.0.0.0"),
        ],
        {1: "Ethernet1", 2: "Ethernet2", 3: "Ethernet3"},
        [
            (
                1,
                "acc1",
                "70:81:05:b1:00:31",
                "Gi1/0/49",
                "uplink core1 Et1",
                IOS,
                ADDRESSES["acc1"],
            ),
            (
                2,
                "acc2",
                "70:81:05:b2:00:31",
                "Gi1/0/49",
                "uplink core1 Et2",
                IOS,
                ADDRESSES["acc2"],
            ),
            (
                3,
                "ext-rtr1",
                "3c:61:04:e0:99:01",
                "ge-0/0/0",
                "to core1",
                "Juniper Networks, Inc. mx204 internet router, kernel JUNOS 22.4R3",
                "10.99.0.1",
            ),
        ],
    )
    core["1.3.6.1.2.1.4.22.1.2.5010.10.10.0.21"] = _x(desk21)
    core["1.3.6.1.2.1.4.22.1.2.5010.10.10.0.22"] = _x(desk22)
    core["1.3.6.1.2.1.4.35.1.4.3.1.4.10.99.0.1"] = _x("3c:61:04:e0:99:01")
    for port in (1, 2, 3):
        core[f"1.3.6.1.2.1.17.1.4.1.2.{port}"] = f"2|{port}"
    for vlan, mac, port in ((10, desk21, 1), (10, desk22, 2)):
        core[f"1.3.6.1.2.1.17.7.1.2.2.1.2.{vlan}.{_mac_index(mac)}"] = f"2|{port}"
        core[f"1.3.6.1.2.1.17.7.1.2.2.1.3.{vlan}.{_mac_index(mac)}"] = "2|3"
    core["1.3.6.1.2.1.17.7.1.4.3.1.1.1"] = _s("default")
    core["1.3.6.1.2.1.17.7.1.4.3.1.1.10"] = _s("USERS")
    out = {"core1": core}
    for name, base, local_desk, far_desk, core_port in (
        ("acc1", "70:81:05:b1:00", desk21, desk22, "Ethernet1"),
        ("acc2", "70:81:05:b2:00", desk22, desk21, "Ethernet2"),
    ):
        last = "10.10.0.2" if name == "acc1" else "10.10.0.3"
        ifaces = [
            (10101, "Gi1/0/1", "GigabitEthernet1/0/1", f"desk-{local_desk[-2:]}", f"{base}:01"),
            (10102, "Gi1/0/2", "GigabitEthernet1/0/2", "", f"{base}:02"),
            (10149, "Gi1/0/49", "GigabitEthernet1/0/49", f"uplink core1 {core_port}", f"{base}:31"),
            (10, "Vl10", "Vlan10", "", f"{base}:00"),
        ]
        neighbours = [
            (
                49,
                "core1",
                "28:99:3a:20:00:01",
                core_port,
                f"{name} Gi1/0/49",
                EOS,
                ADDRESSES["core1"],
            )
        ]
        if name == "acc1":
            ifaces.append((10150, "Gi1/0/50", "GigabitEthernet1/0/50", "x-link acc3", f"{base}:32"))
            neighbours.append(
                (50, "acc3", "70:81:05:b3:00:31", "Gi1/0/49", "x-link acc1", IOS, SILENT)
            )
        ports = {1: "Gi1/0/1", 2: "Gi1/0/2", 49: "Gi1/0/49", 50: "Gi1/0/50"}
        rec = _device(name, IOS, ifaces, [(last, 10, "255.255.255.0")], ports, neighbours)
        for port, index in ((1, 10101), (2, 10102), (49, 10149), (50, 10150)):
            rec[f"1.3.6.1.2.1.17.1.4.1.2.{port}"] = f"2|{index}"
        for mac, port in ((local_desk, 1), (far_desk, 49), (f"{base}:31", 49)):
            status = "4" if mac.startswith(base) else "3"  # the switch's own address: self
            rec[f"1.3.6.1.2.1.17.4.3.1.1.{_mac_index(mac)}"] = _x(mac)
            rec[f"1.3.6.1.2.1.17.4.3.1.2.{_mac_index(mac)}"] = f"2|{port}"
            rec[f"1.3.6.1.2.1.17.4.3.1.3.{_mac_index(mac)}"] = f"2|{status}"
        out[name] = rec
    return out


def snmprec(rec: dict[str, str]) -> str:
    ordered = sorted(rec.items(), key=lambda kv: tuple(int(p) for p in kv[0].split(".")))
    return "".join(f"{oid}|{value}\n" for oid, value in ordered)


@contextmanager
def serve(workdir: Path, port: int) -> Iterator[dict[str, str]]:
    """One snmpsim responder per device (its own 127.0.0.x), v2c community and v3 user."""
    procs = []
    try:
        for name, address in ADDRESSES.items():
            data = workdir / name
            data.mkdir(parents=True)
            shutil.copy(FIXTURES / f"{name}.snmprec", data / f"{COMMUNITY}.snmprec")
            shutil.copy(FIXTURES / f"{name}.snmprec", data / "self.snmprec")  # v3, context ""
            log = (workdir / f"{name}.log").open("w")
            procs.append(
                (
                    subprocess.Popen(
                        [
                            str(Path(sys.executable).with_name("snmpsim-command-responder")),
                            f"--data-dir={data}",
                            f"--cache-dir={workdir / 'cache' / name}",
                            f"--agent-udpv4-endpoint={address}:{port}",
                            "--process-user=root",
                            "--process-group=root",
                            f"--v3-user={V3_USER}",
                            f"--v3-auth-key={V3_AUTH_KEY}",
                            "--v3-auth-proto=SHA",
                            f"--v3-priv-key={V3_PRIV_KEY}",
                            "--v3-priv-proto=AES",
                        ],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    ),
                    log,
                    workdir / f"{name}.log",
                )
            )
        deadline = time.monotonic() + 60
        for proc, _, log_path in procs:
            while "Listening at" not in log_path.read_text(errors="replace"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"snmpsim did not start: {log_path.read_text()[-1500:]}")
                time.sleep(0.2)
        yield ADDRESSES
    finally:
        for proc, log, _ in procs:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


if __name__ == "__main__":
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for host, record in devices().items():
        (FIXTURES / f"{host}.snmprec").write_text(snmprec(record))
