"""``meshq serve``: the whole product on one machine, on the embedded default.

Each of ``MESHQ_KAFKA_BOOTSTRAP``, ``MESHQ_POSTGRES_URL`` and ``MESHQ_REDIS_URL``, when set,
replaces its embedded part (Tansu, PostgreSQL, Redis); ``MEMGRAPH_URI`` replaces the embedded
graph store (which the graph engine opens at ``MESHQ_GRAPH_PATH``, default
``$MESHQ_DATA_DIR/graph``). The eight services run as child processes (and, with
``MESHQ_METRICS_INVENTORY`` set, the interface counter collector, which serves no HTTP and is
up while it runs); the supervisor waits for each ``GET /health``, writes
``$MESHQ_DATA_DIR/run/endpoints.json`` and prints where everything listens. From then on it
supervises (:mod:`meshq_runtime.embedded.supervisor`): a child that exits, embedded part or
service, is restarted on its port with a growing backoff while the others keep running; its
own ``GET /ready`` (the ``supervisor`` entry of endpoints.json, and part of the gateway's
``/ready``) says which child is down, since when and how often it was restarted. On Ctrl-C (or
SIGTERM) it stops everything in dependency order within ``MESHQ_SERVE_STOP_TIMEOUT`` seconds
(default 30): the entry points (gateway, MCP bridge), then, once their last events are
consumed, the processors, then PostgreSQL and Redis, and the broker last.

Secrets are generated once into ``$MESHQ_DATA_DIR/run`` (0600) and reused across restarts: the
admin API key (unless ``API_KEY``), the service credential of internal HTTP (unless
``MESHQ_SERVICE_TOKEN``), and the embedded PostgreSQL's and Redis's passwords. The children get
them in their environment; nothing prints or logs them.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import structlog
from network_discovery.licensing.gates import parse_demo_mode

from meshq_runtime._serve_wiring import (
    DEFAULT_GATEWAY_PORT,
    ServeError,
    child_env,
    embedded_partitions,
    ensure_topics,
    pick_ports,
    service_token,
    with_flow_collector,
)
from meshq_runtime.embedded import (
    EmbeddedError,
    EmbeddedPostgres,
    EmbeddedProcess,
    EmbeddedRedis,
    Tansu,
)
from meshq_runtime.embedded.datadir import (
    DataDir,
    DataDirError,
    default_data_dir,
    load_or_create_api_key,
    load_or_create_secret,
)
from meshq_runtime.embedded.drain import wait_drained
from meshq_runtime.embedded.services import (
    METRICS_COLLECTOR,
    SERVICES,
    ServiceChild,
    ServiceSpec,
    StartupError,
    wait_healthy,
)
from meshq_runtime.embedded.status import StatusServer
from meshq_runtime.embedded.summary import load_demo, summary, ui_link
from meshq_runtime.embedded.supervisor import BROKER, STORE, Backoff, Supervisor, Unit
from meshq_runtime.logging import configure_logging

__all__ = ["DEFAULT_GATEWAY_PORT", "ServeError", "ServeOptions", "run_serve", "serve"]

log = structlog.get_logger(__name__)

#: How often the supervisor looks at its children (seconds).
_TICK_S = 0.25


@dataclass(frozen=True)
class ServeOptions:
    demo: bool = False
    data_dir: Path | None = None
    gateway_port: int | None = None
    #: Seconds every service has to answer ``GET /health`` (env MESHQ_SERVE_TIMEOUT).
    health_timeout: float = 120.0
    #: Seconds the staged shutdown may take in all (env MESHQ_SERVE_STOP_TIMEOUT).
    stop_timeout: float = 30.0
    #: Restart delays of a child that exits.
    backoff: Backoff = field(default_factory=Backoff)
    #: The environment to read (default ``os.environ``); children inherit it.
    environ: Mapping[str, str] | None = None
    services: tuple[ServiceSpec, ...] = SERVICES


def run_serve(*, demo: bool, data_dir: Path | None, gateway_port: int | None) -> int:
    """Entry point of ``meshq serve``: the exit code (0 after Ctrl-C, 1 on any failure)."""
    env = os.environ
    seconds: dict[str, float] = {}
    for name, default in (("MESHQ_SERVE_TIMEOUT", "120"), ("MESHQ_SERVE_STOP_TIMEOUT", "30")):
        try:
            seconds[name] = float(env.get(name) or default)
        except ValueError:
            seconds[name] = -1.0
        if not 0 < seconds[name] < 86_400:
            print(f"meshq serve: {name} must be a number of seconds", file=sys.stderr)
            return 1
    options = ServeOptions(
        demo=demo,
        data_dir=data_dir,
        gateway_port=gateway_port,
        health_timeout=seconds["MESHQ_SERVE_TIMEOUT"],
        stop_timeout=seconds["MESHQ_SERVE_STOP_TIMEOUT"],
    )
    try:
        return serve(options)
    except (ServeError, DataDirError, EmbeddedError, StartupError, OSError) as exc:
        first, _, rest = str(exc).partition("\n")
        print(f"meshq serve: {first}", file=sys.stderr)
        if rest:
            print(rest, file=sys.stderr)
        return 1


def _say(line: str) -> None:
    """A supervision event for the person at the terminal (stderr; the log has it too)."""
    print(f"meshq serve: {line}", file=sys.stderr, flush=True)


@dataclass
class _Stack:
    """What this supervisor started: the children (under supervision) and its status server."""

    supervisor: Supervisor
    stop_timeout: float = 30.0
    status: StatusServer | None = None
    kafka: str | None = None  #: the broker, once known: the shutdown waits on its consumers

    @property
    def started(self) -> bool:
        return bool(self.supervisor.units)

    def add_part(self, key: str, part: EmbeddedProcess, stage: str) -> None:
        """An embedded part that answered its start-up probe."""
        self.supervisor.add(Unit(key, stage, part, part.answers), up=True)

    def stop(self) -> None:
        drain = partial(wait_drained, self.kafka) if self.kafka else None
        try:
            self.supervisor.shutdown(self.stop_timeout, drain=drain)
        finally:
            if self.status is not None:
                self.status.stop()


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


def _with_collectors(
    services: tuple[ServiceSpec, ...], env: dict[str, str]
) -> tuple[ServiceSpec, ...]:
    """``services`` and, when ``MESHQ_METRICS_INVENTORY`` names an inventory, the interface
    counter collector (docs/metrics.md); the children get the inventory's absolute path."""
    inventory = (env.get("MESHQ_METRICS_INVENTORY") or "").strip()
    if not inventory or any(s.key == METRICS_COLLECTOR.key for s in services):
        return services
    path = Path(inventory).expanduser().absolute()
    if not path.is_file():
        raise ServeError(f"MESHQ_METRICS_INVENTORY={inventory!r} is not a file")
    env["MESHQ_METRICS_INVENTORY"] = str(path)
    return (*services, METRICS_COLLECTOR)


def _start_parts(
    data: DataDir, env: Mapping[str, str], stack: _Stack, stopping: Callable[[], bool]
) -> dict[str, Any]:
    """Start each embedded part whose URL is not set; return the URLs and what was embedded.

    A part keeps its port for the life of the stack (the children were given its URL), and
    comes back there when the supervisor restarts it.
    """
    info: dict[str, Any] = {"embedded": []}
    if env.get("MESHQ_KAFKA_BOOTSTRAP"):
        info["kafka"] = env["MESHQ_KAFKA_BOOTSTRAP"]
    else:
        tansu = Tansu(log_dir=data.logs)
        info["kafka"] = tansu.start().bootstrap
        stack.add_part("kafka", tansu, BROKER)
        # the count Tansu gives a topic a client names first: after a restart of the broker
        # (memory storage, nothing left) a topic is the same whoever makes it first
        info["partitions"] = embedded_partitions(env)
        stack.supervisor.unit("kafka").after_up = partial(
            ensure_topics, info["kafka"], partitions=info["partitions"], timeout=15.0
        )
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
        info["postgres"] = pg.start().url
        stack.add_part("postgres", pg, STORE)
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
        info["redis"] = rd.start().url
        stack.add_part("redis", rd, STORE)
        info["embedded"].append("redis")
    return info


def serve(options: ServeOptions) -> int:
    """Run the stack until a signal (exit 0); 1 when it cannot start."""
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
    # the data directory first: a second stack on it is refused before it probes any port
    data = DataDir(_resolve_data_dir(options, env))
    data.prepare()
    lock_fd = data.lock()
    try:
        options = replace(options, services=_with_collectors(options.services, env))
        options = replace(options, services=with_flow_collector(options.services, env))
        ports = pick_ports(options.services, options.gateway_port, env)
    except ServeError:
        os.close(lock_fd)
        raise
    stack = _Stack(Supervisor(options.backoff, notify=_say), stop_timeout=options.stop_timeout)
    with _Signals() as signals:  # still installed while stopping: a second Ctrl-C waits too
        try:
            return _run(options, env, data, stack, ports, signals)
        finally:
            data.remove_endpoints()  # first: clients stop finding a stack that is going away
            stack.stop()
            os.close(lock_fd)
            if stack.started:
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
    token = service_token(env, data)
    supervisor = stack.supervisor
    stack.status = StatusServer(supervisor.snapshot).start()
    infra = _start_parts(data, env, stack, stopping)
    if stopping():
        return 0
    stack.kafka = infra["kafka"]
    ensure_topics(infra["kafka"], partitions=infra.get("partitions"))
    environment = child_env(env, data, infra, ports, api_key, token, stack.status.url)
    children: list[ServiceChild] = []
    with httpx.Client() as client:
        for spec in options.services:
            child = ServiceChild(spec, ports[spec.key], data.logs / f"{spec.key}.log")
            child.start(environment)
            children.append(child)
            supervisor.add(Unit(child.name, spec.stage, child, partial(child.answers, client)))
        if not wait_healthy(children, timeout=options.health_timeout, interrupted=stopping):
            return 0
        for child in children:
            supervisor.mark_up(child.name)
        return _serve_ready(options, env, data, stack, children, infra, environment, signals)


def _serve_ready(
    options: ServeOptions,
    env: dict[str, str],
    data: DataDir,
    stack: _Stack,
    children: list[ServiceChild],
    infra: dict[str, Any],
    environment: dict[str, str],
    signals: _Signals,
) -> int:
    """Announce the stack, then supervise it until a signal."""
    assert stack.status is not None
    endpoints: dict[str, Any] = {c.name: c.url for c in children if c.spec.http}
    if "mcp" in endpoints:
        endpoints["mcp_endpoint"] = f"{endpoints['mcp']}/mcp"
    endpoints.update(
        supervisor=stack.status.url,
        kafka=infra["kafka"],
        postgres=infra["postgres"],
        redis=infra["redis"],
        api_key=environment["API_KEY"],
        pid=os.getpid(),
        data_dir=str(data.root),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        embedded=infra["embedded"],
        graph=env.get("MEMGRAPH_URI") or environment.get("MESHQ_GRAPH_PATH"),
    )
    if "postgres_data" in infra:
        endpoints["postgres_data"] = infra["postgres_data"]
    if "gateway" in endpoints:  # the web UI's one-time sign-in link (no API key in it)
        link = ui_link(endpoints["gateway"], environment["API_KEY"])
        if link is not None:
            endpoints["ui"] = link
    data.write_endpoints(endpoints)
    demo_mode = parse_demo_mode(env.get("MESHOPTIXIQ_DEMO_MODE"))
    print(summary(endpoints, data, demo_mode=demo_mode), flush=True)
    log.info(
        "serve.ready",
        services=len(children),
        embedded=infra["embedded"],
        supervisor=stack.status.url,
    )
    # the demo loads beside the supervision (a child that dies meanwhile is restarted, and
    # Ctrl-C is not held up); a daemon thread, so that stopping never waits for it
    demo: list[str] = []
    loader: threading.Thread | None = None
    if options.demo:
        loader = threading.Thread(
            target=lambda: demo.append(load_demo(endpoints)), name="demo", daemon=True
        )
        loader.start()
    else:
        print("Press Ctrl-C to stop.", flush=True)

    while not signals.event.wait(_TICK_S):
        stack.supervisor.tick()
        if loader is not None and not loader.is_alive():
            print(demo[0] if demo else "Loading the demo network failed; see the logs.", flush=True)
            print("Press Ctrl-C to stop.", flush=True)
            loader = None
    log.info(
        "serve.stopping",
        signal=signal.Signals(signals.received or signal.SIGINT).name,
        timeout_s=stack.stop_timeout,
    )
    print("Stopping MeshOptixIQ...", flush=True)
    return 0
