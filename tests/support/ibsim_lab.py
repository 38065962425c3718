"""A simulated InfiniBand fabric: ``ibsim`` serving a net file, one ``opensm`` sweep to
bring it up, and the real infiniband-diags run against it through ``ibsim-run``.

Each :class:`IbSim` has its own ``IBSIM_SOCKNAME`` (ibsim's sockets live in the abstract
namespace under that name), so several run side by side, one per test worker. The console
(``Unlink``, ``PerformanceSet``...) is ibsim's stdin.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

from support.procs import wait_for

__all__ = ["IbSim", "missing_tools"]

TOOLS = (
    "ibsim",
    "ibsim-run",
    "opensm",
    "ibnetdiscover",
    "iblinkinfo",
    "perfquery",
    "ibroute",
    "ibtracert",
)
_TIMEOUT = 60.0


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


class IbSim:
    def __init__(self, netfile: str, workdir: Path) -> None:
        self.workdir = workdir
        self.netpath = workdir / "fabric.net"
        self.netpath.write_text(netfile)
        self.env = {
            **os.environ,
            "IBSIM_SOCKNAME": f"meshq-{os.getpid()}-{uuid.uuid4().hex[:8]}",
            "OSM_TMP_DIR": str(workdir),
            "OSM_CACHE_DIR": str(workdir),
        }
        self._sim: subprocess.Popen[bytes] | None = None

    def start(self, *, subnet_manager: bool = True, max_nodes: int = 2048) -> IbSim:
        with (self.workdir / "ibsim.log").open("wb") as log:
            self._sim = subprocess.Popen(
                ["ibsim", "-N", str(max_nodes), "-s", str(self.netpath)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.workdir,
            )
        wait_for(
            lambda: "Network simulator ready" in self._log("ibsim.log") or self._sim_died(),
            timeout=_TIMEOUT,
            what="ibsim ready",
        )
        if self._sim_died():
            self.stop()
            raise RuntimeError(f"ibsim exited: {self._log('ibsim.log')[-2000:]}")
        if subnet_manager:
            # one sweep (--once): LIDs assigned, ports Active; opensm then exits. Diagnostics
            # that would ask the SA for paths run with --skip-sl.
            sm = subprocess.run(
                ["ibsim-run", "opensm", "--once", "-f", str(self.workdir / "opensm.log")],
                capture_output=True,
                env=self.env,
                cwd=self.workdir,
                timeout=_TIMEOUT,
                check=False,
            )
            if "SUBNET UP" not in self._log("opensm.log"):
                self.stop()
                raise RuntimeError(f"opensm brought no subnet up (exit {sm.returncode})")
        return self

    def _log(self, name: str) -> str:
        path = self.workdir / name
        return path.read_text(errors="replace") if path.exists() else ""

    def _sim_died(self) -> bool:
        return self._sim is not None and self._sim.poll() is not None

    def run(self, *args: str, host: str | None = None, check: bool = True) -> str:
        """A diagnostic's stdout; ``host`` attaches it at that node (``SIM_HOST``)."""
        env = {**self.env, **({"SIM_HOST": host} if host else {})}
        proc = subprocess.run(
            ["ibsim-run", *args],
            capture_output=True,
            env=env,
            cwd=self.workdir,
            timeout=_TIMEOUT,
            check=False,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}: {proc.stderr!r}")
        return proc.stdout.decode()

    def execute(self, words: list[str], host: str | None = None) -> tuple[int, str, str]:
        """Any command against the simulator: (exit status, stdout, stderr); a tool the
        machine lacks exits 127 as in a shell."""
        if not words or shutil.which(words[0]) is None:
            return 127, "", f"bash: line 1: {words[0] if words else ''}: command not found\n"
        env = {**self.env, **({"SIM_HOST": host} if host else {})}
        proc = subprocess.run(
            ["ibsim-run", *words],
            capture_output=True,
            env=env,
            cwd=self.workdir,
            timeout=_TIMEOUT,
            check=False,
        )
        return proc.returncode, proc.stdout.decode(), proc.stderr.decode()

    def console(self, command: str) -> None:
        """One ibsim console command; waits until the simulator has answered it."""
        assert self._sim is not None and self._sim.stdin is not None
        marker = f"# done {uuid.uuid4().hex}"
        before = len(self._log("ibsim.log"))
        self._sim.stdin.write(f"{command}\n{marker}\nVerbose\n".encode())
        self._sim.stdin.flush()
        wait_for(
            lambda: "simulator verbose level" in self._log("ibsim.log")[before:],
            timeout=_TIMEOUT,
            what=f"ibsim console: {command}",
        )

    def stop(self) -> None:
        proc = self._sim
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if proc.stdin is not None:
            proc.stdin.close()
