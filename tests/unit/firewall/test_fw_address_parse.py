"""Rule addresses read by the IPv4 fast path are the ranges ``ipaddress`` gives, and what the
fast path does not take (IPv6, netmasks, leading zeros, nonsense) is read or refused as
``ipaddress`` reads or refuses it."""

from __future__ import annotations

import ipaddress
import random

import pytest
from meshq_graph_engine.firewall._intervals import V6_BASE, address_ranges


def _reference(text: str) -> tuple[int, int]:
    network = ipaddress.ip_network(text.strip().lower(), strict=False)
    base = V6_BASE if network.version == 6 else 0
    return (int(network.network_address) + base, int(network.broadcast_address) + base)


def _samples(rng: random.Random) -> list[str]:
    out = []
    for _ in range(3000):
        octets = [
            str(rng.choice([0, 1, 9, 10, 99, 100, 127, 192, 254, 255, 256, 300])) for _ in range(4)
        ]
        text = (
            ".".join(octets[: rng.choice([4, 4, 4, 3, 5])])
            if rng.random() < 0.9
            else ".".join(octets)
        )
        if rng.random() < 0.05:
            text = text.replace(".", ".0", 1)  # a leading zero
        suffix = rng.choice(
            ["", "/0", "/8", "/24", "/31", "/32", "/33", "/08", "/", "/x", "/255.255.0.0", "/4a"]
        )
        out.append(f"{' ' if rng.random() < 0.1 else ''}{text}{suffix}")
    out += ["2001:db8::/32", "::1", "10.0.0.1", "\u0661\u0660.0.0.1/8", "10.0.0.0/\u00b2"]
    return out


@pytest.mark.parametrize("seed", [1, 2], ids=["seed-1", "seed-2"])
def test_fast_path_reads_as_ipaddress_does(seed: int) -> None:
    checked = refused = 0
    for text in _samples(random.Random(seed)):
        try:
            expected = _reference(text)
        except ValueError:
            with pytest.raises(ValueError):
                address_ranges([text])
            refused += 1
            continue
        assert address_ranges([text]) == (expected,), text
        checked += 1
    assert checked > 500 and refused > 100
