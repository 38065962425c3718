"""The data directory of ``meshq serve``: its layout, the admin API key, ``endpoints.json``.

Layout under ``MESHQ_DATA_DIR`` (0700)::

    run/api_key         the generated admin API key (0600), reused across restarts
    run/service_token   the installation's service credential (0600): internal HTTP
    run/postgres_password, run/redis_password
                        the embedded PostgreSQL's and Redis's generated passwords (0600)
    run/endpoints.json  where each part listens (0600), present while the stack runs
    run/serve.lock      held (flock) by the running supervisor
    logs/<part>.log     one log per service and embedded part
    postgres/ redis/ graph/
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshq_runtime.service_auth import token_file

__all__ = [
    "DataDir",
    "DataDirError",
    "default_data_dir",
    "load_or_create_api_key",
    "load_or_create_secret",
    "read_endpoints",
    "write_private",
]


class DataDirError(RuntimeError):
    """The data directory cannot be used; the message says what to do."""


def default_data_dir() -> Path:
    return Path.home() / ".meshoptixiq" / "data"


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by its owner only (0600)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def load_or_create_api_key(path: Path) -> str:
    """The key stored at ``path``; generated (and stored 0600) the first time."""
    return load_or_create_secret(path)


def load_or_create_secret(path: Path) -> str:
    """The secret stored at ``path`` (a key, a password); generated, URL-safe, and stored
    0600 the first time; made 0600 again if it was widened."""
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = ""
    if key:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            os.chmod(path, 0o600)  # our own file: keep it private
        return key
    key = secrets.token_urlsafe(32)
    write_private(path, key + "\n")
    return key


def read_endpoints(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _mkdir_private(path: Path) -> None:
    """Create ``path`` and its missing parents, each 0700; existing ones are left alone."""
    missing = [p for p in [path, *path.parents] if not p.exists()]
    for p in reversed(missing):
        try:
            p.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(p, 0o700)  # mkdir's mode is filtered by the umask


@dataclass
class DataDir:
    root: Path

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def endpoints_file(self) -> Path:
        return self.run / "endpoints.json"

    @property
    def api_key_file(self) -> Path:
        return self.run / "api_key"

    @property
    def service_token_file(self) -> Path:
        return token_file(self.root)  # where the services and the CLI look for it too

    @property
    def postgres_password_file(self) -> Path:
        return self.run / "postgres_password"

    @property
    def redis_password_file(self) -> Path:
        return self.run / "redis_password"

    def _is_ours(self) -> bool:
        """Empty, or laid out by a previous ``meshq serve``: safe for us to tighten."""
        entries = {p.name for p in self.root.iterdir()}
        return not entries or "run" in entries

    def prepare(self) -> None:
        """Create the directory tree, 0700; an existing root is tightened only if it is ours."""
        root = self.root
        if root.exists():
            if not root.is_dir():
                raise DataDirError(f"data directory {root} is not a directory")
            st = root.stat()
            if st.st_uid != os.geteuid():
                raise DataDirError(
                    f"data directory {root} belongs to another user (uid {st.st_uid}); "
                    "set MESHQ_DATA_DIR to a directory of your own"
                )
            if stat.S_IMODE(st.st_mode) != 0o700:
                if not self._is_ours():
                    raise DataDirError(
                        f"data directory {root} is mode {stat.S_IMODE(st.st_mode):o} and holds "
                        "files that meshq did not create; run 'chmod 700' on it, or set "
                        "MESHQ_DATA_DIR to a new directory"
                    )
                os.chmod(root, 0o700)
        else:
            _mkdir_private(root)
        for sub in (self.run, self.logs):
            _mkdir_private(sub)

    def lock(self) -> int:
        """Take the supervisor lock, or raise if another ``meshq serve`` runs on this directory.

        The lock (``flock``, released by the kernel when its holder dies, and not inherited by
        the children) is the truth; an ``endpoints.json`` left by a supervisor that was killed
        is removed once the lock is ours.
        """
        path = self.run / "serve.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = path.read_text().strip() or "unknown"
            raise DataDirError(
                f"meshq serve is already running on {self.root} (pid {holder}); stop it "
                "first, or set MESHQ_DATA_DIR to another directory"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.remove_endpoints()  # stale: its writer no longer holds the lock
        return fd

    def write_endpoints(self, data: dict[str, Any]) -> None:
        write_private(self.endpoints_file, json.dumps(data, indent=2) + "\n")

    def remove_endpoints(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.endpoints_file.unlink()
