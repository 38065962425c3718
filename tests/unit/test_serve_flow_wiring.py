"""How ``meshq serve`` gives the flow collector its UDP ports: the defaults on the loopback,
ports set in the environment, a default port in use turned off, a set one in use refused,
and no collector when no listener is left."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from meshq_runtime._serve_wiring import ServeError, udp_port_is_free, with_flow_collector
from meshq_runtime.embedded.services import FLOW_COLLECTOR, SERVICES


@pytest.fixture
def taken() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def _free() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ports_set_are_passed_on_and_the_collector_joins() -> None:
    netflow, ipfix = _free(), _free()
    env = {
        "MESHQ_FLOWS_NETFLOW_PORT": str(netflow),
        "MESHQ_FLOWS_IPFIX_PORT": str(ipfix),
        "MESHQ_FLOWS_SFLOW_PORT": "0",
    }
    services = with_flow_collector(SERVICES, env)
    assert services == (*SERVICES, FLOW_COLLECTOR)
    assert env == {
        "MESHQ_FLOWS_NETFLOW_PORT": str(netflow),
        "MESHQ_FLOWS_IPFIX_PORT": str(ipfix),
        "MESHQ_FLOWS_SFLOW_PORT": "0",
        "MESHQ_FLOWS_LISTEN_HOST": "127.0.0.1",
    }
    # once there, it is not added twice
    assert with_flow_collector(services, dict(env)) == services


def test_a_port_set_and_in_use_is_refused(taken: int) -> None:
    env = {"MESHQ_FLOWS_NETFLOW_PORT": str(taken)}
    with pytest.raises(ServeError, match=f"UDP port {taken} \\(NetFlow\\) on 127.0.0.1 is in use"):
        with_flow_collector(SERVICES, env)


@pytest.mark.parametrize("value", ["x", "-1", "65536"], ids=["word", "negative", "too-high"])
def test_a_port_that_is_no_port_is_refused(value: str) -> None:
    with pytest.raises(ServeError, match="MESHQ_FLOWS_SFLOW_PORT"):
        with_flow_collector(SERVICES, {"MESHQ_FLOWS_SFLOW_PORT": value})


def test_a_default_port_in_use_is_turned_off() -> None:
    env: dict[str, str] = {"MESHQ_FLOWS_IPFIX_PORT": "0", "MESHQ_FLOWS_SFLOW_PORT": "0"}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", 2055))
        except OSError:
            pass  # taken by something else already: the same case
        assert not udp_port_is_free("127.0.0.1", 2055)
        assert with_flow_collector(SERVICES, env) == SERVICES  # nothing left to listen on
    assert env["MESHQ_FLOWS_NETFLOW_PORT"] == "0"


def test_every_listener_off_leaves_the_collector_out() -> None:
    env = {name: "0" for name in ("NETFLOW", "IPFIX", "SFLOW")}
    env = {f"MESHQ_FLOWS_{k}_PORT": v for k, v in env.items()}
    assert with_flow_collector(SERVICES, env) == SERVICES


def test_the_listen_host_is_kept_when_set() -> None:
    env = {
        "MESHQ_FLOWS_LISTEN_HOST": "0.0.0.0",
        "MESHQ_FLOWS_NETFLOW_PORT": str(_free()),
        "MESHQ_FLOWS_IPFIX_PORT": "0",
        "MESHQ_FLOWS_SFLOW_PORT": "0",
    }
    assert with_flow_collector(SERVICES, env)[-1] == FLOW_COLLECTOR
    assert env["MESHQ_FLOWS_LISTEN_HOST"] == "0.0.0.0"
