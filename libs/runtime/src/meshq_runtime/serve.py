"""``meshq serve``: the whole product on one machine, on the embedded default.

Each of ``MESHQ_KAFKA_BOOTSTRAP``, ``MESHQ_POSTGRES_URL`` and ``MESHQ_REDIS_URL``, when set,
replaces its embedded part (Tansu, PostgreSQL, Redis); ``MEMGRAPH_URI`` replaces the embedded
graph store (which the graph engine opens at ``MESHQ_GRAPH_PATH``, default
``$MESHQ_DATA_DIR/graph``). The seven services run as child processes; the supervisor waits for
each ``GET /health``, writes ``$MESHQ_DATA_DIR/run/endpoints.json``, prints where everything
listens, and on Ctrl-C (or SIGTERM) stops it all. A child that dies stops the stack with a
non-zero exit.

Secrets are generated once into ``$MESHQ_DATA_DIR/run`` (0600) and reused across restarts: the
admin API key (unless ``API_KEY``), the service credential of internal HTTP (unless
``MESHQ_SERVICE_TOKEN``), and the embedded PostgreSQL's and Redis's passwords. The children get
them in their environment; nothing prints or logs them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import structlog
from network_discovery.licensing.gates import parse_demo_mode

from meshq_runtime.embedded import (
    EmbeddedError,
    EmbeddedPostgres,
    EmbeddedProcess,
    EmbeddedRedis,
    Tansu,
    free_port,
    port_is_free,
)
from meshq_runtime.embedded.datadir import (
    DataDir,
    DataDirError,
    default_data_dir,
    load_or_create_api_key,
    load_or_create_secret,
)
from meshq_runtime.embedded.ports import LOOPBACK
from meshq_runtime.embedded.services import (
    SERVICES,
    ServiceChild,
    ServiceSpec,
    StartupError,
    stop_all,
    wait_healthy,
)
from meshq_runtime.embedded.summary import load_demo, summary
from meshq_runtime.logging import configure_logging
from meshq_runtime.service_auth import check_token, load_or_create_token

__all__ = ["DEFAULT_GATEWAY_PORT", "ServeError", "ServeOptions", "run_serve", "serve"]

log = structlog.get_logger(__name__)

DEFAULT_GATEWAY_PORT = 8000


class ServeError(RuntimeError):
    """``meshq serve`` cannot go on; the message is one line for the user."""


@dataclass(frozen=True)
class ServeOptions:
    demo: bool = False
    data_dir: Path | None = None
    gateway_port: int | None = None
    #: Seconds every service has to answer ``GET /health`` (env MESHQ_SERVE_TIMEOUT).
    health_timeout: float = 120.0
    #: The environment to read (default ``os.environ``); children inherit it.
    environ: Mapping[str, str] | None = None
    services: tuple[ServiceSpec, ...] = SERVICES


def run_serve(*, demo: bool, data_dir: Path | None, gateway_port: int | None) -> int:
    """Entry point of ``meshq serve``: the exit code (0 after Ctrl-C, 1 on any failure)."""
    env = os.environ
    try:
        timeout = float(env.get("MESHQ_SERVE_TIMEOUT", "120"))
    except ValueError:
        print("meshq serve: MESHQ_SERVE_TIMEOUT must be a number of seconds", file=sys.stderr)
        return 1
    options = ServeOptions(
        demo=demo, data_dir=data_dir, gateway_port=gateway_port, health_timeout=timeout
    )
    try:
        return serve(options)
    except (ServeError, DataDirError, EmbeddedError, StartupError, OSError) as exc:
        first, _, rest = str(exc).partition("\n")
        print(f"meshq serve: {first}", file=sys.stderr)
        if rest:
            print(rest, file=sys.stderr)
        return 1


@dataclass
class _Stack:
    """What this supervisor started, in start order, so it can stop it in reverse."""

    parts: list[EmbeddedProcess] = field(default_factory=list)
    children: list[ServiceChild] = field(default_factory=list)

    def dead(self) -> str | None:
        """What to tell when a child or part exited (a line, then its log's tail), else None."""
        for child in self.children:
            code = child.poll()
            if code is not None:
                return (
                    f"service {child.name} exited with code {code} (log {child.log_path})\n"
                    f"{child.tail()}"
                )
        for part in self.parts:
            code = part.poll()
            if code is not None:
                return (
                    f"{part.name} exited with code {code} (log {part.log_path})\n{part.log_tail()}"
                )
        return None

    def stop(self) -> None:
        stop_all(self.children)
        for part in reversed(self.parts):
            try:
                part.stop()
            except Exception as exc:  # keep stopping the others
                log.error("serve.stop_failed", part=part.name, error=str(exc)[:300])


class _Signals:
    """SIGINT/SIGTERM set an event instead of raising, so shutdown runs in order."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received = signum
        self.event.set()

    def __enter__(self) -> _Signals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *_: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _resolve_data_dir(options: ServeOptions, env: Mapping[str, str]) -> Path:
    raw = options.data_dir or (Path(env["MESHQ_DATA_DIR"]) if env.get("MESHQ_DATA_DIR") else None)
    return (raw or default_data_dir()).expanduser().absolute()


def _port_from_env(env: Mapping[str, str], name: str) -> int | None:
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


def _pick_ports(options: ServeOptions, env: Mapping[str, str]) -> dict[str, int]:
    """A port per service: the gateway's is 8000 unless set; set ones must be free."""
    ports: dict[str, int] = {}
    for spec in options.services:
        if spec.key == "gateway":
            port = options.gateway_port or _port_from_env(env, spec.port_env)
            if port is None:
                port = DEFAULT_GATEWAY_PORT
                if not port_is_free(port):
                    raise ServeError(
                        f"port {port} (the REST API's default) is in use; set "
                        "MESHQ_GATEWAY_PORT (or --gateway-port) to a free port"
                    )
        else:
            port = _port_from_env(env, spec.port_env)
        if port is not None:
            if not port_is_free(port) or port in ports.values():
                raise ServeError(
                    f"port {port} for {spec.key} is in use; set {spec.port_env} to a free port"
                )
            ports[spec.key] = port
    for spec in options.services:
        if spec.key not in ports:
            port = free_port()
            while port in ports.values():
                port = free_port()
            ports[spec.key] = port
    return ports


def _ensure_topics(bootstrap: str) -> None:
    from meshq_runtime.kafka.bootstrap import ensure_topics
    from meshq_runtime.settings import KafkaSettings

    # the prefix, partitions and replication from the environment, the broker from us
    settings = KafkaSettings().model_copy(update={"kafka_bootstrap": bootstrap})
    try:
        asyncio.run(asyncio.wait_for(ensure_topics(settings), timeout=60))
    except Exception as exc:
        raise ServeError(f"cannot create the Kafka topics on {bootstrap}: {exc}") from exc


def _start_parts(
    data: DataDir, env: Mapping[str, str], stack: _Stack, stopping: Callable[[], bool]
) -> dict[str, Any]:
    """Start each embedded part whose URL is not set; return the URLs and what was embedded."""
    info: dict[str, Any] = {"embedded": []}
    if env.get("MESHQ_KAFKA_BOOTSTRAP"):
        info["kafka"] = env["MESHQ_KAFKA_BOOTSTRAP"]
    else:
        tansu = Tansu(log_dir=data.logs)
        stack.parts.append(tansu)
        info["kafka"] = tansu.start().bootstrap
        info["embedded"].append("kafka")
    if stopping():
        return info
    if env.get("MESHQ_POSTGRES_URL"):
        info["postgres"] = env["MESHQ_POSTGRES_URL"]
    else:
        pg = EmbeddedPostgres(
            data_dir=data.root / "postgres",
            log_path=data.logs / "postgres.log",
            password=load_or_create_secret(data.postgres_password_file),
        )
        stack.parts.append(pg)
        info["postgres"] = pg.start().url
        info["postgres_data"] = str(pg.pgdata)
        info["embedded"].append("postgres")
    if stopping():
        return info
    if env.get("MESHQ_REDIS_URL"):
        info["redis"] = env["MESHQ_REDIS_URL"]
    else:
        rd = EmbeddedRedis(
            data_dir=data.root / "redis",
            log_path=data.logs / "redis.log",
            password=load_or_create_secret(data.redis_password_file),
        )
        stack.parts.append(rd)
        info["redis"] = rd.start().url
        info["embedded"].append("redis")
    return info


def _child_env(
    env: Mapping[str, str],
    data: DataDir,
    infra: dict[str, Any],
    ports: dict[str, int],
    api_key: str,
    service_token: str,
) -> dict[str, str]:
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
    if not env.get("MEMGRAPH_URI"):
        child["MESHQ_GRAPH_PATH"] = env.get("MESHQ_GRAPH_PATH") or str(data.root / "graph")
    if "licensing" in url:
        child["MESHQ_LICENSING_URL"] = url["licensing"]
    if "graph_engine" in url:
        child["MESHQ_GRAPH_ENGINE_URL"] = url["graph_engine"]
    if "gateway" in url:
        child["MESHOPTIXIQ_API_URL"] = url["gateway"]
    return child


def _service_token(env: Mapping[str, str], data: DataDir) -> str:
    """``MESHQ_SERVICE_TOKEN`` when set, else the data directory's (generated once)."""
    given = (env.get("MESHQ_SERVICE_TOKEN") or "").strip()
    if given:
        try:
            return check_token(given)
        except ValueError as exc:
            raise ServeError(str(exc)) from None
    return load_or_create_token(data.service_token_file)


def serve(options: ServeOptions) -> int:
    """Run the stack until a signal (exit 0) or until a part of it dies (exit 1)."""
    env = dict(options.environ if options.environ is not None else os.environ)
    configure_logging(
        service="serve",
        level=(env.get("MESHQ_LOG_LEVEL") or "info").lower(),
        fmt=env.get("MESHQ_LOG_FORMAT") or "auto",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per health poll otherwise
    try:  # refused before anything starts; read again where the summary says it
        parse_demo_mode(env.get("MESHOPTIXIQ_DEMO_MODE"))
    except ValueError as exc:
        raise ServeError(str(exc)) from None
    data = DataDir(_resolve_data_dir(options, env))
    data.prepare()
    lock_fd = data.lock()
    try:
        ports = _pick_ports(options, env)
    except ServeError:
        os.close(lock_fd)
        raise
    stack = _Stack()
    with _Signals() as signals:  # still installed while stopping: a second Ctrl-C waits too
        try:
            return _run(options, env, data, stack, ports, signals)
        finally:
            stack.stop()
            data.remove_endpoints()
            os.close(lock_fd)
            if stack.parts or stack.children:
                log.info("serve.stopped")


def _run(
    options: ServeOptions,
    env: dict[str, str],
    data: DataDir,
    stack: _Stack,
    ports: dict[str, int],
    signals: _Signals,
) -> int:
    stopping = signals.event.is_set
    api_key = env.get("API_KEY") or load_or_create_api_key(data.api_key_file)
    service_token = _service_token(env, data)
    infra = _start_parts(data, env, stack, stopping)
    if stopping():
        return 0
    _ensure_topics(infra["kafka"])
    child_env = _child_env(env, data, infra, ports, api_key, service_token)
    for spec in options.services:
        child = ServiceChild(spec, ports[spec.key], data.logs / f"{spec.key}.log")
        stack.children.append(child)
        child.start(child_env)
    if not wait_healthy(stack.children, timeout=options.health_timeout, interrupted=stopping):
        return 0

    endpoints: dict[str, Any] = {c.name: c.url for c in stack.children}
    if "mcp" in endpoints:
        endpoints["mcp_endpoint"] = f"{endpoints['mcp']}/mcp"
    endpoints.update(
        kafka=infra["kafka"],
        postgres=infra["postgres"],
        redis=infra["redis"],
        api_key=api_key,
        pid=os.getpid(),
        data_dir=str(data.root),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        embedded=infra["embedded"],
        graph=env.get("MEMGRAPH_URI") or child_env.get("MESHQ_GRAPH_PATH"),
    )
    if "postgres_data" in infra:
        endpoints["postgres_data"] = infra["postgres_data"]
    data.write_endpoints(endpoints)
    demo_mode = parse_demo_mode(env.get("MESHOPTIXIQ_DEMO_MODE"))
    print(summary(endpoints, data, demo_mode=demo_mode), flush=True)
    log.info("serve.ready", services=len(stack.children), embedded=infra["embedded"])
    if options.demo:
        print(load_demo(endpoints), flush=True)
    print("Press Ctrl-C to stop.", flush=True)

    while not signals.event.wait(0.5):
        dead = stack.dead()
        if dead:
            line, _, log_tail = dead.partition("\n")
            log.error("serve.child_died", detail=line)
            print(f"meshq serve: {line}; stopping everything", file=sys.stderr, flush=True)
            if log_tail:
                print(log_tail, file=sys.stderr, flush=True)
            return 1
    log.info("serve.stopping", signal=signal.Signals(signals.received or signal.SIGINT).name)
    print("Stopping MeshOptixIQ...", flush=True)
    return 0
