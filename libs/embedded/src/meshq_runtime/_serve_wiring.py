"""How ``meshq serve`` wires its children: ports, topics, each child's environment, the
service credential. Kept apart from the supervision in :mod:`meshq_runtime.serve`."""

from __future__ import annotations

import asyncio
import importlib.util
import socket
from collections.abc import Mapping
from typing import Any

import structlog

from meshq_runtime.embedded import free_port, port_is_free
from meshq_runtime.embedded.datadir import DataDir
from meshq_runtime.embedded.ports import LOOPBACK
from meshq_runtime.embedded.services import FLOW_COLLECTOR, ServiceSpec
from meshq_runtime.embedded.tansu import AUTO_CREATE_PARTITIONS
from meshq_runtime.service_auth import check_token, load_or_create_token

__all__ = [
    "DEFAULT_GATEWAY_PORT",
    "ServeError",
    "child_env",
    "embedded_partitions",
    "ensure_topics",
    "flow_store_available",
    "pick_ports",
    "port_from_env",
    "service_token",
    "udp_port_is_free",
    "with_flow_collector",
]

log = structlog.get_logger(__name__)

DEFAULT_GATEWAY_PORT = 8000
#: The flow collector's UDP listeners: (variable, default port, protocol).
FLOW_LISTENERS = (
    ("MESHQ_FLOWS_NETFLOW_PORT", 2055, "NetFlow"),
    ("MESHQ_FLOWS_IPFIX_PORT", 4739, "IPFIX"),
    ("MESHQ_FLOWS_SFLOW_PORT", 6343, "sFlow"),
)


class ServeError(RuntimeError):
    """``meshq serve`` cannot go on; the message is one line for the user."""


def port_from_env(env: Mapping[str, str], name: str) -> int | None:
    """The port ``name`` sets, None when unset; a :class:`ServeError` when it is no port."""
    raw = env.get(name)
    if not raw:
        return None
    try:
        port = int(raw)
    except ValueError:
        raise ServeError(f"{name}={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise ServeError(f"{name}={raw} is not a port number (1-65535)")
    return port


def pick_ports(
    services: tuple[ServiceSpec, ...], gateway_port: int | None, env: Mapping[str, str]
) -> dict[str, int]:
    """A port per service: the gateway's is 8000 unless set; set ones must be free."""
    ports: dict[str, int] = {}
    for spec in services:
        if spec.key == "gateway":
            port = gateway_port or port_from_env(env, spec.port_env)
            if port is None:
                port = DEFAULT_GATEWAY_PORT
                if not port_is_free(port):
                    raise ServeError(
                        f"port {port} (the REST API's default) is in use; set "
                        "MESHQ_GATEWAY_PORT (or --gateway-port) to a free port"
                    )
        else:
            port = port_from_env(env, spec.port_env)
        if port is not None:
            if not port_is_free(port) or port in ports.values():
                raise ServeError(
                    f"port {port} for {spec.key} is in use; set {spec.port_env} to a free port"
                )
            ports[spec.key] = port
    for spec in services:
        if spec.key not in ports:
            port = free_port()
            while port in ports.values():
                port = free_port()
            ports[spec.key] = port
    return ports


def embedded_partitions(env: Mapping[str, str]) -> int:
    """Partitions of each topic on the embedded broker: ``MESHQ_KAFKA_PARTITIONS`` when set,
    else as many as Tansu gives a topic it creates by itself."""
    raw = env.get("MESHQ_KAFKA_PARTITIONS")
    if not raw:
        return AUTO_CREATE_PARTITIONS
    try:
        return max(1, int(raw))
    except ValueError:
        raise ServeError(f"MESHQ_KAFKA_PARTITIONS={raw!r} is not a number") from None


def ensure_topics(bootstrap: str, *, partitions: int | None = None, timeout: float = 60.0) -> None:
    """Create the registry's missing topics on ``bootstrap`` (at start, and again each time
    the embedded broker comes back empty)."""
    from meshq_runtime.kafka.bootstrap import ensure_topics as create_missing
    from meshq_runtime.settings import KafkaSettings

    # the prefix and replication from the environment, the broker (and the partitions of the
    # embedded one) from us
    update: dict[str, Any] = {"kafka_bootstrap": bootstrap}
    if partitions is not None:
        update["kafka_partitions"] = partitions
    settings = KafkaSettings().model_copy(update=update)
    try:
        asyncio.run(asyncio.wait_for(create_missing(settings), timeout=timeout))
    except Exception as exc:
        raise ServeError(f"cannot create the Kafka topics on {bootstrap}: {exc}") from exc


def child_env(
    env: Mapping[str, str],
    data: DataDir,
    infra: dict[str, Any],
    ports: dict[str, int],
    api_key: str,
    service_token: str,
    supervisor_url: str | None = None,
) -> dict[str, str]:
    """What every child gets: ours on top of ``env``, the parts' URLs, the secrets."""
    url = {key: f"http://{LOOPBACK}:{port}" for key, port in ports.items()}
    child = dict(env)
    child.update(
        MESHQ_HOST=LOOPBACK,
        MESHQ_DATA_DIR=str(data.root),
        MESHQ_KAFKA_BOOTSTRAP=infra["kafka"],
        MESHQ_POSTGRES_URL=infra["postgres"],
        MESHQ_REDIS_URL=infra["redis"],
        MESHQ_LOG_FORMAT="json",
        API_KEY=api_key,
        MESHOPTIXIQ_API_KEY=api_key,
        MESHQ_SERVICE_TOKEN=service_token,
    )
    if "kafka" in infra["embedded"]:
        child["MESHQ_KAFKA_IDEMPOTENT"] = "false"  # Tansu has no InitProducerId
        child["MESHQ_KAFKA_PARTITIONS"] = str(infra["partitions"])
    if not env.get("MEMGRAPH_URI"):
        child["MESHQ_GRAPH_PATH"] = env.get("MESHQ_GRAPH_PATH") or str(data.root / "graph")
    if not env.get("MESHQ_FLOWS_CLICKHOUSE_URL") and importlib.util.find_spec("chdb"):
        # graph-engine keeps the flow store in its process (flow-collector's batches go there)
        child["MESHQ_FLOWS_PATH"] = env.get("MESHQ_FLOWS_PATH") or str(data.root / "flows")
    if "licensing" in url:
        child["MESHQ_LICENSING_URL"] = url["licensing"]
    if "graph_engine" in url:
        child["MESHQ_GRAPH_ENGINE_URL"] = url["graph_engine"]
    if "gateway" in url:
        child["MESHOPTIXIQ_API_URL"] = url["gateway"]
    # the gateway passes /audit/* and /soar/replay on to these (clients reach only it)
    if "audit" in url:
        child["MESHQ_AUDIT_URL"] = url["audit"]
    if "soar_dispatcher" in url:
        child["MESHQ_SOAR_DISPATCHER_URL"] = url["soar_dispatcher"]
    # the gateway lists the alerts service's queries and passes them to it
    if "alerts" in url:
        child["MESHQ_ALERTS_URL"] = url["alerts"]
    # and the prober's (the Synthetic queries)
    if "prober" in url:
        child["MESHQ_PROBER_URL"] = url["prober"]
    if supervisor_url:
        child["MESHQ_SUPERVISOR_URL"] = supervisor_url  # the gateway's /ready includes it
    return child


def service_token(env: Mapping[str, str], data: DataDir) -> str:
    """``MESHQ_SERVICE_TOKEN`` when set, else the data directory's (generated once)."""
    given = (env.get("MESHQ_SERVICE_TOKEN") or "").strip()
    if given:
        try:
            return check_token(given)
        except ValueError as exc:
            raise ServeError(str(exc)) from None
    return load_or_create_token(data.service_token_file)


def flow_store_available(env: Mapping[str, str]) -> bool:
    """Whether graph-engine will keep flows: a ClickHouse server named, or chdb installed."""
    return bool(env.get("MESHQ_FLOWS_CLICKHOUSE_URL")) or (
        importlib.util.find_spec("chdb") is not None
    )


def udp_port_is_free(host: str, port: int) -> bool:
    """Whether a UDP socket can bind ``host:port`` now."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0][0]
    except OSError:
        return False
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _udp_port(env: Mapping[str, str], name: str) -> int:
    raw = (env.get(name) or "").strip()
    try:
        port = int(raw)
    except ValueError:
        raise ServeError(f"{name}={raw!r} is not a port number (0 turns it off)") from None
    if not 0 <= port < 65536:
        raise ServeError(f"{name}={raw} is not a port number (1-65535, or 0 for off)")
    return port


def with_flow_collector(
    services: tuple[ServiceSpec, ...], env: dict[str, str]
) -> tuple[ServiceSpec, ...]:
    """``services`` and the flow collector, with its UDP ports written into ``env`` (which the
    children inherit): on ``MESHQ_FLOWS_LISTEN_HOST`` (default the loopback, as every part of
    the stack), ports ``MESHQ_FLOWS_NETFLOW_PORT`` (2055), ``MESHQ_FLOWS_IPFIX_PORT`` (4739)
    and ``MESHQ_FLOWS_SFLOW_PORT`` (6343). A port set and in use stops the start; a default
    port in use turns that listener off (0), with a warning. Left out when no listener is
    left, or when graph-engine has no flow store to keep the flows in."""
    if any(s.key == FLOW_COLLECTOR.key for s in services) or not flow_store_available(env):
        return services
    host = (env.get("MESHQ_FLOWS_LISTEN_HOST") or "").strip() or LOOPBACK
    env["MESHQ_FLOWS_LISTEN_HOST"] = host
    listening = 0
    for name, default, protocol in FLOW_LISTENERS:
        if (env.get(name) or "").strip():
            port = _udp_port(env, name)
            if port and not udp_port_is_free(host, port):
                raise ServeError(
                    f"UDP port {port} ({protocol}) on {host} is in use; set {name} to a free "
                    f"port, or to 0 to turn {protocol} off"
                )
        else:
            port = default if udp_port_is_free(host, default) else 0
            if not port:
                log.warning(
                    "serve.flows.port_in_use",
                    protocol=protocol,
                    port=default,
                    host=host,
                    hint=f"set {name} to a free port",
                )
        env[name] = str(port)
        listening += bool(port)
    if not listening:
        return services
    return (*services, FLOW_COLLECTOR)
