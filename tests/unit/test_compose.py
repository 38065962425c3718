"""compose.yaml, deploy/Dockerfile and the deploy/ samples, checked without a Docker engine.

compose.yaml is validated against the published Compose Specification schema
(tests/data/compose-spec.json, from github.com/compose-spec/compose-spec, schema/), then
cross-checked against the workspace: every service directory has an entry built from
deploy/Dockerfile, every environment key is a variable the service's settings class reads,
the values load through that class, start order waits on health, and health checks probe the
port the service listens on.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import subprocess
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from meshq_runtime.settings import env_names
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose.yaml"
SCHEMA_FILE = ROOT / "tests" / "data" / "compose-spec.json"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
TOPICS_SCRIPT = ROOT / "deploy" / "kafka_topics.py"
RBAC_FILE = ROOT / "deploy" / "rbac.yaml"

WORKSPACE_SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/pyproject.toml"))
#: Compose services that run to completion; everything else must stay up and be healthy.
ONE_SHOT = {"kafka-topics"}
INFRASTRUCTURE_IMAGES = {
    "kafka": "apache/kafka",
    "memgraph": "memgraph/memgraph",
    "postgres": "postgres:16",
    "redis": "redis:7",
}
#: Data that must survive `docker compose down` (without -v) lives in named volumes.
PERSISTENT = {
    "kafka": "/var/lib/kafka/data",
    "memgraph": "/var/lib/memgraph",
    "postgres": "/var/lib/postgresql/data",
}
WAIT_CONDITIONS = {"service_healthy", "service_completed_successfully"}
SECRET_KEY = re.compile(r"(API_KEY|TOKEN|PASSWORD|SECRET)$")
# Compose interpolation: $$ (a literal $), or ${NAME}, ${NAME:-default}, ${NAME-default},
# ${NAME:?message}, ${NAME?message}, ${NAME:+alt}, ${NAME+alt}. Bare $NAME is legal compose but
# easy to write by accident inside a shell command, so this project always uses braces.
INTERPOLATION = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
)


# --- loading -------------------------------------------------------------------------------


def load_compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        doc = yaml.safe_load(f)  # resolves anchors and `<<:` merge keys as compose does
    assert isinstance(doc, dict), f"{path.name} is not a mapping"
    return doc


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


def module_of(service_dir: str) -> str:
    return "meshq_" + service_dir.replace("-", "_")


def settings_class(compose_name: str) -> type[BaseSettings]:
    if compose_name == "kafka-topics":
        return load_topics_script().Settings
    return importlib.import_module(f"{module_of(compose_name)}.settings").Settings


def load_topics_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("meshq_deploy_kafka_topics", TOPICS_SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ours(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Compose services built from deploy/Dockerfile (as opposed to upstream images)."""
    return {
        name: svc
        for name, svc in compose["services"].items()
        if isinstance(svc.get("build"), dict)
        and svc["build"].get("dockerfile") == "deploy/Dockerfile"
    }


#: What a required variable holds in these tests: as long as `openssl rand -hex 32` makes it
#: (MESHQ_SERVICE_TOKEN refuses anything shorter than 32 characters).
FROM_THE_SHELL = "value-from-the-shell-" + "0" * 43


def interpolate(value: str, required: str = FROM_THE_SHELL) -> str:
    """Resolve compose interpolation as if only the `:?` (required) variables were exported."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        op, arg = m.group("op"), m.group("arg")
        if op in (":-", "-"):
            return arg
        if op in (":?", "?"):
            return required
        return ""

    return INTERPOLATION.sub(sub, value)


def environment(svc: dict[str, Any]) -> dict[str, str | None]:
    env = svc.get("environment") or {}
    if isinstance(env, list):  # ["KEY=value", "KEY"] form
        pairs = (item.split("=", 1) for item in env)
        return {p[0]: (p[1] if len(p) == 2 else None) for p in pairs}
    return {k: (None if v is None else str(v)) for k, v in env.items()}


def all_strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in all_strings(k) + all_strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in all_strings(v)]
    return []


def listen_port(name: str, svc: dict[str, Any]) -> int:
    cls = settings_class(name)
    field = cls.model_fields["port"]
    env = environment(svc)
    if field.alias in env and env[field.alias] is not None:
        return int(interpolate(env[field.alias]))
    return int(field.default)


# --- the schema ----------------------------------------------------------------------------


def schema_errors(doc: dict[str, Any]) -> list[str]:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(doc)
    ]


def test_schema_is_the_compose_specification() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["title"] == "Compose Specification"
    assert {"services", "volumes", "networks"} <= set(schema["properties"])


def interpolated(node: Any) -> Any:
    if isinstance(node, str):
        return interpolate(node)
    if isinstance(node, dict):
        return {k: interpolated(v) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolated(v) for v in node]
    return node


def test_compose_file_matches_the_compose_specification(compose) -> None:
    assert schema_errors(compose) == []
    # Compose validates again once variables are substituted; so do we.
    assert schema_errors(interpolated(compose)) == []


def test_schema_validation_rejects_a_broken_file(compose) -> None:
    # Guard against a validator that accepts anything (e.g. a schema that failed to load).
    broken = json.loads(json.dumps(compose))
    broken["services"]["kafka"]["healthcheck"]["retries"] = ["ten"]
    broken["services"]["redis"]["depends_on"] = {"kafka": {"condition": "when_ready"}}
    broken["services"]["postgres"]["restart_policy"] = "always"
    errors = schema_errors(broken)
    assert any(e.startswith("services/kafka/healthcheck/retries") for e in errors), errors
    assert any(e.startswith("services/redis/depends_on") for e in errors), errors
    assert any("restart_policy" in e for e in errors), errors


def test_interpolation_is_well_formed(compose) -> None:
    bad = []
    for s in all_strings(compose):
        leftover = INTERPOLATION.sub("", s)
        if "$" in leftover:
            bad.append(s)
    assert bad == [], "use ${NAME}, ${NAME:-default} or ${NAME:?message}; $$ for a literal $"


# --- every workspace service, built from the one Dockerfile -------------------------------


def test_workspace_has_services() -> None:
    assert len(WORKSPACE_SERVICES) >= 7, WORKSPACE_SERVICES


@pytest.mark.parametrize("service_dir", WORKSPACE_SERVICES)
def test_every_workspace_service_has_a_compose_entry(compose, service_dir) -> None:
    svc = compose["services"].get(service_dir)
    assert svc is not None, f"compose.yaml has no service {service_dir!r}"
    build = svc.get("build")
    assert isinstance(build, dict), f"{service_dir}: build from deploy/Dockerfile"
    assert build.get("context") == "."
    assert build.get("dockerfile") == "deploy/Dockerfile"
    assert (build.get("args") or {}).get("SERVICE") == service_dir
    assert "command" not in svc, f"{service_dir}: the image's CMD already runs the service"


def test_every_image_we_build_is_a_known_service(compose) -> None:
    for name, svc in ours(compose).items():
        assert name in WORKSPACE_SERVICES or name in ONE_SHOT, name
        assert svc["build"]["args"]["SERVICE"] in WORKSPACE_SERVICES, name


def test_infrastructure_is_present(compose) -> None:
    services = compose["services"]
    for name, image in INFRASTRUCTURE_IMAGES.items():
        assert name in services, f"compose.yaml lacks {name}"
        assert services[name]["image"].startswith(image), services[name]["image"]


def test_kafka_runs_kraft_on_one_node(compose) -> None:
    env = environment(compose["services"]["kafka"])
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    node = env["KAFKA_NODE_ID"]
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{node}@kafka:9093"
    assert "CONTROLLER://" in env["KAFKA_LISTENERS"]
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"
    for key in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert env[key] == "1", key
    assert "ZOOKEEPER" not in " ".join(env)


@pytest.mark.parametrize("name", sorted(PERSISTENT))
def test_stateful_infrastructure_keeps_its_data_in_a_named_volume(compose, name) -> None:
    declared = set(compose.get("volumes") or {})
    mounts = {}
    for v in compose["services"][name].get("volumes", []):
        source, target = v.split(":")[:2] if isinstance(v, str) else (v["source"], v["target"])
        mounts[target] = source
    assert PERSISTENT[name] in mounts, f"{name}: nothing mounted at {PERSISTENT[name]}"
    assert mounts[PERSISTENT[name]] in declared, f"{name}: use a named volume"


def test_gateway_publishes_port_8000(compose) -> None:
    ports = [str(p) for p in compose["services"]["query-gateway"].get("ports", [])]
    assert any(p.endswith("8000:8000") for p in ports), ports


# --- environment: only what the settings classes read, and values they accept -------------


def our_services(compose: dict[str, Any]) -> list[str]:
    return sorted(ours(compose))


@pytest.mark.parametrize("name", [*WORKSPACE_SERVICES, *sorted(ONE_SHOT)])
def test_environment_keys_are_settings_the_service_reads(compose, name) -> None:
    svc = compose["services"][name]
    readable = env_names(settings_class(name))
    unknown = sorted(set(environment(svc)) - readable)
    assert unknown == [], f"{name} sets variables its Settings never reads: {unknown}"


@pytest.mark.parametrize("name", [*WORKSPACE_SERVICES, *sorted(ONE_SHOT)])
def test_environment_values_load_through_the_settings_class(compose, name, monkeypatch) -> None:
    cls = settings_class(name)
    for var in env_names(cls):
        monkeypatch.delenv(var, raising=False)
    for key, value in environment(compose["services"][name]).items():
        if value is not None:  # no value: passed through from the shell when set there
            monkeypatch.setenv(key, interpolate(value))
    settings = cls()
    assert settings.host == "0.0.0.0", f"{name} must listen on every interface in a container"
    if "MESHQ_KAFKA_BOOTSTRAP" in env_names(cls):
        assert settings.kafka_bootstrap == "kafka:9092"
        assert settings.kafka_idempotent is True, "Apache Kafka supports idempotent producers"
        assert settings.kafka_replication == 1, "one broker: one replica"


def test_secrets_are_never_written_into_the_file(compose) -> None:
    for name, svc in compose["services"].items():
        for key, value in environment(svc).items():
            if not SECRET_KEY.search(key) or value is None:
                continue
            m = INTERPOLATION.fullmatch(value)
            assert m, f"{name}.{key}: take it from the shell, do not write it here"
            assert m.group("op") in (":?", "?"), f"{name}.{key}: refuse to start when unset"


def test_service_urls_point_at_compose_services(compose) -> None:
    names = set(compose["services"])
    for name in our_services(compose):
        for key, value in environment(compose["services"][name]).items():
            if value is None:
                continue
            value = interpolate(value)
            if key == "MESHQ_KAFKA_BOOTSTRAP":
                hosts = [h.rsplit(":", 1)[0] for h in value.split(",")]
            elif "://" in value:
                hosts = [urlsplit(value).hostname]
            else:
                continue
            for host in hosts:
                assert host in names, f"{name}.{key} points at {host!r}, not a compose service"


def test_gateway_finds_the_graph_engine_on_its_port(compose) -> None:
    services = compose["services"]
    url = urlsplit(environment(services["query-gateway"])["MESHQ_GRAPH_ENGINE_URL"])
    assert url.port == listen_port("graph-engine", services["graph-engine"])
    bridge = urlsplit(environment(services["mcp-bridge"])["MESHOPTIXIQ_API_URL"])
    assert (bridge.hostname, bridge.port) == (
        "query-gateway",
        listen_port("query-gateway", services["query-gateway"]),
    )


def test_every_url_to_one_of_our_services_uses_its_listening_port(compose) -> None:
    services = compose["services"]
    checked = set()
    for name in our_services(compose):
        for key, value in environment(services[name]).items():
            if value is None or "://" not in value:
                continue
            url = urlsplit(interpolate(value))
            if url.hostname in WORKSPACE_SERVICES:
                assert url.port == listen_port(url.hostname, services[url.hostname]), (name, key)
                checked.add((name, url.hostname))
    # the internal calls DESIGN.md names, the gateway's to the alerts service among them
    assert {
        ("query-gateway", "graph-engine"),
        ("query-gateway", "alerts"),
        ("alerts", "graph-engine"),
        ("alerts", "licensing"),
        ("mcp-bridge", "query-gateway"),
    } <= checked


def udp_listeners(name: str, svc: dict[str, Any]) -> set[int]:
    """The UDP ports a service listens on: its settings' ``*_port`` fields besides ``port``,
    as compose sets them (0: off)."""
    env = environment(svc)
    ports = set()
    for field_name, field in settings_class(name).model_fields.items():
        if not field_name.endswith("_port"):
            continue
        raw = env.get(field.alias) if field.alias else None
        ports.add(int(interpolate(raw)) if raw is not None else int(field.default))
    return ports - {0}


def test_flow_collector_publishes_its_udp_listeners(compose) -> None:
    svc = compose["services"]["flow-collector"]
    listeners = udp_listeners("flow-collector", svc)
    assert listeners, "the flow collector listens on no UDP port"
    published = set()
    for entry in svc.get("ports", []):
        spec = str(entry)
        assert spec.endswith("/udp"), f"flow-collector publishes {spec}: only its UDP listeners"
        host, _, container = spec.removesuffix("/udp").rpartition(":")
        assert host.rsplit(":", 1)[-1] == container, "exporters send to the standard port"
        published.add(int(container))
    assert published == listeners
    # it serves no HTTP API outside the compose network
    assert listen_port("flow-collector", svc) not in published


# --- start order and health ----------------------------------------------------------------


def test_depends_on_waits_for_health_or_completion(compose) -> None:
    services = compose["services"]
    for name, svc in services.items():
        deps = svc.get("depends_on")
        if deps is None:
            continue
        assert isinstance(deps, dict), f"{name}: the list form of depends_on waits for nothing"
        for dep, spec in deps.items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            condition = (spec or {}).get("condition")
            assert condition in WAIT_CONDITIONS, f"{name} -> {dep}: condition {condition!r}"
            if condition == "service_completed_successfully":
                assert dep in ONE_SHOT, f"{name} -> {dep}: {dep} is not a one-shot job"
            else:
                assert dep not in ONE_SHOT, f"{name} -> {dep}: wait for completion instead"
                assert "healthcheck" in services[dep], f"{name} -> {dep}: {dep} has no health"


def test_kafka_users_wait_for_the_topic_bootstrap(compose) -> None:
    users = [
        n for n in WORKSPACE_SERVICES if "MESHQ_KAFKA_BOOTSTRAP" in env_names(settings_class(n))
    ]
    assert users
    early = [
        n for n in users if "kafka-topics" not in (compose["services"][n].get("depends_on") or {})
    ]
    assert early == [], f"these would start before their topics exist: {early}"


def test_topic_bootstrap_is_one_shot_after_kafka(compose) -> None:
    svc = compose["services"]["kafka-topics"]
    assert str(svc.get("restart", "no")) == "no"
    assert svc["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_every_long_running_service_has_a_healthcheck(compose) -> None:
    missing = []
    for name, svc in compose["services"].items():
        if name in ONE_SHOT:
            continue
        check = svc.get("healthcheck") or {}
        test = check.get("test")
        if check.get("disable") or not test or test in (["NONE"], "NONE"):
            missing.append(name)
    assert missing == []


@pytest.mark.parametrize("name", WORKSPACE_SERVICES)
def test_service_healthcheck_probes_ready_on_the_listening_port(compose, name) -> None:
    svc = compose["services"][name]
    test = svc["healthcheck"]["test"]
    command = " ".join(test) if isinstance(test, list) else test
    urls = re.findall(r"http://127\.0\.0\.1:(\d+)(/\w+)", command)
    assert urls, f"{name}: healthcheck does not call the service over HTTP: {command}"
    port, path = urls[0]
    assert path == "/ready"
    assert int(port) == listen_port(name, svc)


# --- deploy/Dockerfile -----------------------------------------------------------------------


def dockerfile_lines() -> list[str]:
    return DOCKERFILE.read_text(encoding="utf-8").splitlines()


def test_dockerfile_takes_the_service_as_build_argument() -> None:
    lines = dockerfile_lines()
    stages = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
    assert len(stages) >= 2, "multi-stage: build, then runtime"
    for start, end in zip(stages, [*stages[1:], len(lines)], strict=True):
        body = lines[start:end]
        uses = any("${SERVICE}" in line or "$SERVICE" in line for line in body)
        if uses:
            assert "ARG SERVICE" in body, f"stage at line {start + 1} uses SERVICE without ARG"
    assert lines.count("ARG SERVICE") >= 1


def test_dockerfile_installs_from_the_lock_file_without_dev_dependencies() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim$", text, re.M)
    assert re.search(r'pip install .*"uv==', text)
    syncs = re.findall(r"uv sync ([^\n]+)", text)
    assert syncs
    for args in syncs:
        assert "--frozen" in args and "--no-dev" in args, args
        assert '--package "meshq-${SERVICE}"' in args, args


def test_dockerfile_runs_as_an_unprivileged_user() -> None:
    users = [line.split()[1] for line in dockerfile_lines() if line.startswith("USER ")]
    assert users, "no USER instruction: the container would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}


@pytest.mark.parametrize("service_dir", WORKSPACE_SERVICES)
def test_package_name_matches_the_dockerfile_convention(service_dir) -> None:
    pyproject = tomllib.loads(
        (ROOT / "services" / service_dir / "pyproject.toml").read_text(encoding="utf-8")
    )
    assert pyproject["project"]["name"] == f"meshq-{service_dir}"


def dockerfile_module(service_dir: str) -> str:
    """Run the Dockerfile's own `module=` line in sh, as the build does."""
    [line] = [ln.strip() for ln in dockerfile_lines() if ln.strip().startswith("module=")]
    assignment = line.removesuffix("\\").strip().removesuffix(";")
    out = subprocess.run(
        ["sh", "-c", f'{assignment}; printf "%s" "$module"'],
        env={"SERVICE": service_dir, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


@pytest.mark.parametrize("service_dir", WORKSPACE_SERVICES)
def test_dockerfile_module_derivation_finds_the_service(service_dir) -> None:
    module = dockerfile_module(service_dir)
    assert module == module_of(service_dir)
    assert importlib.util.find_spec(module) is not None, module
    assert importlib.util.find_spec(f"{module}.__main__") is not None, f"python -m {module}"


def test_dockerfile_cmd_execs_the_service_module() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    launcher = re.search(r"printf '([^']*)' \"\$module\" > (\S+);", text)
    assert launcher, "the launcher script is not written from $module"
    assert "exec python -m %s" in launcher.group(1)
    cmd = [ln for ln in text.splitlines() if ln.startswith("CMD ")]
    assert cmd and json.loads(cmd[-1][4:]) == [launcher.group(2)]


def test_dockerignore_keeps_what_the_build_needs() -> None:
    ignored = {
        ln.strip()
        for ln in (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    }
    for needed in ("uv.lock", "pyproject.toml", "libs", "services", "deploy", "deploy/*"):
        assert needed not in ignored, needed
    assert "**/.venv" in ignored


def test_topic_bootstrap_script_is_where_compose_runs_it(compose) -> None:
    copies = re.findall(
        r"^COPY deploy/kafka_topics\.py (\S+)$", DOCKERFILE.read_text(encoding="utf-8"), re.M
    )
    assert copies, "the Dockerfile does not ship deploy/kafka_topics.py"
    command = compose["services"]["kafka-topics"]["command"]
    assert command == ["python", copies[0]]


# --- deploy/kafka_topics.py ------------------------------------------------------------------


async def test_topic_bootstrap_retries_until_the_broker_accepts(monkeypatch) -> None:
    script = load_topics_script()
    monkeypatch.setenv("MESHQ_KAFKA_BOOTSTRAP", "kafka:9092")
    settings = script.Settings()
    calls: list[str] = []
    slept: list[float] = []

    async def ensure(s):
        calls.append(s.kafka_bootstrap)
        if len(calls) < 3:
            raise ConnectionError("controller not ready")
        return ["meshq.audit.events"]

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    created = await script.bootstrap(settings, ensure=ensure, sleep=sleep, clock=lambda: 0.0)
    assert created == ["meshq.audit.events"]
    assert calls == ["kafka:9092"] * 3
    assert slept == [0.5, 1.0]


async def test_topic_bootstrap_gives_up_after_its_deadline(monkeypatch) -> None:
    script = load_topics_script()
    monkeypatch.setenv("MESHQ_KAFKA_BOOTSTRAP_TIMEOUT", "10")
    settings = script.Settings()
    now = [0.0]

    async def ensure(s):
        raise ConnectionError("no broker")

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(ConnectionError):
        await script.bootstrap(settings, ensure=ensure, sleep=sleep, clock=lambda: now[0])
    assert 5.0 <= now[0] <= 10.0


# --- deploy/rbac.yaml ------------------------------------------------------------------------


def test_sample_rbac_policy_is_consistent() -> None:
    policy = yaml.safe_load(RBAC_FILE.read_text(encoding="utf-8"))
    assert set(policy) == {"roles", "groups"}
    for role, spec in policy["roles"].items():
        assert set(spec) == {"resources", "verbs"}, role
        assert spec["resources"] and all(isinstance(r, str) for r in spec["resources"]), role
        assert set(spec["verbs"]) <= {"execute", "list"}, role
    for group, spec in policy["groups"].items():
        assert set(spec) == {"roles"}, group
        unknown = set(spec["roles"]) - set(policy["roles"])
        assert not unknown, f"group {group} names undefined roles {unknown}"


def test_compose_mounts_the_sample_policy(compose) -> None:
    mounts = compose["services"]["query-gateway"].get("volumes", [])
    assert any(str(m).startswith("./deploy/rbac.yaml:") for m in mounts), mounts
