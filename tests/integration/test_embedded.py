"""The embedded parts of ``meshq serve``: each starts, is usable, keeps its data where it
should, stops without leaving a process, and changes no permission outside its data dir."""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from meshq_runtime.embedded import (
    EmbeddedError,
    EmbeddedPostgres,
    EmbeddedRedis,
    Tansu,
    free_port,
)
from meshq_runtime.embedded.datadir import (
    DataDir,
    DataDirError,
    load_or_create_api_key,
    load_or_create_secret,
)
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError
from support.procs import wait_for

pytestmark = pytest.mark.integration

IS_ROOT = os.geteuid() == 0


def _modes(paths: list[Path]) -> dict[Path, int]:
    return {p: stat.S_IMODE(p.stat().st_mode) for p in paths if p.exists()}


@pytest.fixture
def watched_modes(tmp_path: Path) -> Iterator[None]:
    """As root: no directory outside the data dir may change mode (the wheel's own server
    chmods every parent of its data directory, which is why it is not used)."""
    watched = [*tmp_path.parents, Path("/var/lib"), Path("/var"), Path("/")]
    before = _modes(watched)
    yield
    if IS_ROOT:
        after = _modes(watched)
        changed = {
            str(p): (oct(before[p]), oct(after.get(p, 0)))
            for p in before
            if after.get(p) != before[p]
        }
        assert not changed, f"modes changed outside the data dir: {changed}"


def _gone(pids: list[int]) -> bool:
    return not [
        p
        for p in pids
        if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
    ]


def _tree(pid: int) -> list[int]:
    proc = psutil.Process(pid)
    return [pid, *(c.pid for c in proc.children(recursive=True))]


async def test_tansu_produce_and_consume(tmp_path: Path, watched_modes: None) -> None:
    with Tansu(log_dir=tmp_path) as tansu:
        assert tansu.pid is not None
        pids = _tree(tansu.pid)
        topic = f"embedded-{uuid.uuid4().hex[:8]}"
        producer = AIOKafkaProducer(bootstrap_servers=tansu.bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"hello", key=b"k1")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=tansu.bootstrap,
            group_id=f"g-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            record = await consumer.getone()
            await consumer.commit()
        finally:
            await consumer.stop()
        assert (record.key, record.value) == (b"k1", b"hello")
        assert tansu.log_path.exists()
    assert not tansu.running
    wait_for(lambda: _gone(pids), timeout=10, what="tansu gone")


async def test_postgres_keeps_data_across_restart(tmp_path: Path, watched_modes: None) -> None:
    data = tmp_path / "data" / "postgres"
    pg = EmbeddedPostgres(data_dir=data, log_path=tmp_path / "postgres.log")
    try:
        pg.start()
        assert pg.url.endswith("/meshq")
        conn = await asyncpg.connect(pg.url)
        try:
            assert await conn.fetchval("select 1") == 1
            await conn.execute("create table kept (v text)")
            await conn.execute("insert into kept values ('survives')")
        finally:
            await conn.close()
        assert pg.pid is not None
        pids = _tree(pg.pid)
        pg.stop()
        wait_for(lambda: _gone(pids), timeout=15, what="postgres gone")

        pg.start()  # same cluster, probably another port
        conn = await asyncpg.connect(pg.url)
        try:
            assert await conn.fetchval("select v from kept") == "survives"
        finally:
            await conn.close()
        if IS_ROOT:  # runs as the system user, from a directory that is ours to create
            assert psutil.Process(pg.pid).username() == "meshq-postgres"
            assert not pg.pgdata.is_relative_to(tmp_path)
            assert (data / "LOCATION").read_text().strip() == str(pg.pgdata)
        else:
            assert pg.pgdata == data
        assert stat.S_IMODE(pg.pgdata.stat().st_mode) == 0o700
        pids = _tree(pg.pid)
    finally:
        pg.purge()
    wait_for(lambda: _gone(pids), timeout=15, what="postgres gone")
    assert not pg.pgdata.exists()


async def test_redis_keeps_data_across_restart(tmp_path: Path, watched_modes: None) -> None:
    rd = EmbeddedRedis(data_dir=tmp_path / "redis")
    try:
        rd.start()
        client = Redis.from_url(rd.url)
        try:
            await client.set("meshq:test", "kept")
        finally:
            await client.aclose()
        rd.stop()
        rd.start()
        client = Redis.from_url(rd.url)
        try:
            assert await client.get("meshq:test") == b"kept"
        finally:
            await client.aclose()
        assert rd.pid is not None
        pids = _tree(rd.pid)
    finally:
        rd.stop()
    wait_for(lambda: _gone(pids), timeout=10, what="redis gone")
    assert list((tmp_path / "redis").glob("appendonly*"))


def _without_password(url: str) -> str:
    """``url`` with its userinfo's password taken out."""
    scheme, rest = url.split("://", 1)
    userinfo, host = rest.rsplit("@", 1)
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user + '@' if user else ''}{host}"


async def _pg_refuses(url: str) -> str:
    with pytest.raises(asyncpg.PostgresError) as refused:
        conn = await asyncpg.connect(url, timeout=10)
        await conn.close()
    return str(refused.value)


async def test_postgres_wants_its_password(tmp_path: Path) -> None:
    """No connection without the password, including one made by an older meshq with trust
    authentication; the password given at a start is the one in force."""
    data = tmp_path / "data" / "postgres"
    first = "first-password-" + "a" * 16
    pg = EmbeddedPostgres(data_dir=data, log_path=tmp_path / "pg.log", password=first)
    try:
        pg.start()
        assert f":{first}@" in pg.url and first not in repr(pg)
        assert "password" in await _pg_refuses(_without_password(pg.url))
        wrong = pg.url.replace(first, "w" * len(first))
        assert "password" in await _pg_refuses(wrong)
        conn = await asyncpg.connect(pg.url)
        await conn.close()
        pg.stop()

        # a cluster left with trust authentication (as older versions made them)
        (pg.pgdata / "pg_hba.conf").write_text("host all all 127.0.0.1/32 trust\n")
        second = "second-password-" + "b" * 16
        pg = EmbeddedPostgres(data_dir=data, log_path=tmp_path / "pg.log", password=second)
        pg.start()
        assert "trust" not in (pg.pgdata / "pg_hba.conf").read_text()
        assert "password" in await _pg_refuses(_without_password(pg.url))
        assert "password" in await _pg_refuses(pg.url.replace(second, first))
        conn = await asyncpg.connect(pg.url)
        try:
            assert await conn.fetchval("select current_user") == "postgres"
        finally:
            await conn.close()
        assert pg.pid is not None
        assert second not in " ".join(psutil.Process(pg.pid).cmdline())
        assert second not in pg.log_path.read_text(errors="replace")
    finally:
        pg.purge()


async def test_redis_wants_its_password(tmp_path: Path) -> None:
    password = "redis-password-" + "c" * 16
    rd = EmbeddedRedis(data_dir=tmp_path / "redis", password=password)
    try:
        rd.start()
        assert rd.url.startswith(f"redis://:{password}@127.0.0.1:") and password not in repr(rd)
        anonymous = Redis(host="127.0.0.1", port=rd.port)
        try:
            with pytest.raises(AuthenticationError):
                await anonymous.ping()
        finally:
            await anonymous.aclose()
        wrong = Redis.from_url(rd.url.replace(password, "w" * len(password)))
        try:
            with pytest.raises(AuthenticationError):
                await wrong.ping()
        finally:
            await wrong.aclose()
        client = Redis.from_url(rd.url)
        try:
            assert await client.ping()
        finally:
            await client.aclose()
        assert stat.S_IMODE(rd.config_path.stat().st_mode) == 0o600
        assert rd.pid is not None
        assert password not in " ".join(psutil.Process(rd.pid).cmdline())  # not in `ps`
    finally:
        rd.stop()


def test_start_failure_names_the_part_and_shows_its_log(tmp_path: Path) -> None:
    port = free_port()
    with Tansu(log_dir=tmp_path / "a", port=port):
        expected = rf"(?s)tansu could not listen on port {port}.*tansu\.log.*in use"
        with pytest.raises(EmbeddedError, match=expected):
            Tansu(log_dir=tmp_path / "b", port=port).start()


def test_data_dir_is_private_and_keeps_its_api_key(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "home" / ".meshoptixiq" / "data")
    data.prepare()
    for path in (data.root, data.root.parent, data.run, data.logs):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    key = load_or_create_api_key(data.api_key_file)
    assert len(key) >= 32
    assert stat.S_IMODE(data.api_key_file.stat().st_mode) == 0o600
    for secret in (data.postgres_password_file, data.redis_password_file):
        value = load_or_create_secret(secret)
        assert len(value) >= 32 and stat.S_IMODE(secret.stat().st_mode) == 0o600
        assert load_or_create_secret(secret) == value  # reused across restarts
    os.chmod(data.root, 0o755)  # ours (it has run/): tightened again
    data.prepare()
    assert stat.S_IMODE(data.root.stat().st_mode) == 0o700
    assert load_or_create_api_key(data.api_key_file) == key


def test_a_foreign_open_directory_is_refused_not_chmodded(tmp_path: Path) -> None:
    foreign = tmp_path / "documents"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    os.chmod(foreign, 0o755)
    with pytest.raises(DataDirError, match="chmod 700"):
        DataDir(foreign).prepare()
    assert stat.S_IMODE(foreign.stat().st_mode) == 0o755


def test_one_supervisor_per_data_dir(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "data")
    data.prepare()
    data.write_endpoints({"pid": 1})  # left by a supervisor that was killed
    fd = data.lock()
    try:
        assert not data.endpoints_file.exists()
        with pytest.raises(DataDirError, match=rf"already running .*pid {os.getpid()}"):
            DataDir(tmp_path / "data").lock()
    finally:
        os.close(fd)
    os.close(DataDir(tmp_path / "data").lock())  # free again once the holder is gone
