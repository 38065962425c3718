"""The HTML report printed to PDF by a headless Chromium on graph-engine's host.

Chromium is the executable ``MESHQ_CHROMIUM`` names, else the first of ``chromium``,
``chromium-browser``, ``google-chrome`` on the PATH. Each render runs in its own temporary
directory (the page, a throwaway profile, the PDF), with name resolution mapped to nowhere so
the page can reach nothing (the report loads nothing anyway), for at most
``MESHQ_COMPLIANCE_PDF_TIMEOUT`` seconds (default 120): past it the whole process group is
killed. One render at a time per graph-engine; a PDF over ``MAX_PDF_BYTES`` is refused.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "MAX_PDF_BYTES",
    "PdfError",
    "PdfUnavailable",
    "chromium_path",
    "pdf_timeout",
    "render_pdf",
]

MAX_PDF_BYTES = 64 * 1024 * 1024
DEFAULT_TIMEOUT = 120.0
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_ONE_AT_A_TIME = asyncio.Semaphore(1)


class PdfUnavailable(RuntimeError):
    """No Chromium to print with."""


class PdfError(RuntimeError):
    """Chromium ran and gave no PDF (it failed, timed out, or wrote too much)."""


def chromium_path(env: Mapping[str, str] | None = None) -> str:
    values = os.environ if env is None else env
    named = values.get("MESHQ_CHROMIUM", "").strip()
    if named:
        found = shutil.which(named)
        if found is None:
            raise PdfUnavailable(f"MESHQ_CHROMIUM={named!r} is not an executable")
        return found
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found is not None:
            return found
    raise PdfUnavailable(
        "PDF reports are printed by Chromium: install chromium on graph-engine's host or set "
        "MESHQ_CHROMIUM"
    )


def pdf_timeout(env: Mapping[str, str] | None = None) -> float:
    values = os.environ if env is None else env
    raw = values.get("MESHQ_COMPLIANCE_PDF_TIMEOUT", "").strip()
    try:
        seconds = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        raise ValueError(
            f"MESHQ_COMPLIANCE_PDF_TIMEOUT: not a number of seconds: {raw[:40]!r}"
        ) from None
    if not 5 <= seconds <= 600:
        raise ValueError("MESHQ_COMPLIANCE_PDF_TIMEOUT: between 5 and 600 seconds")
    return seconds


def _arguments(executable: str, work: Path) -> list[str]:
    arguments = [
        executable,
        "--headless",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--mute-audio",
        # nothing to resolve: the page cannot reach anything even if it tried
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={work / 'profile'}",
        f"--crash-dumps-dir={work / 'crashes'}",
        "--no-pdf-header-footer",
        f"--print-to-pdf={work / 'report.pdf'}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        arguments.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox
    arguments.append((work / "report.html").as_uri())
    return arguments


async def render_pdf(
    html: str,
    *,
    executable: str | None = None,
    timeout: float | None = None,
    max_bytes: int = MAX_PDF_BYTES,
) -> bytes:
    """``html`` printed to PDF; ``PdfUnavailable`` without Chromium, ``PdfError`` when the
    render fails, runs past ``timeout`` seconds or gives more than ``max_bytes``."""
    program = executable or chromium_path()
    try:
        limit = pdf_timeout() if timeout is None else timeout
    except ValueError as exc:
        raise PdfUnavailable(str(exc)) from None
    async with _ONE_AT_A_TIME:
        with tempfile.TemporaryDirectory(prefix="meshq-pdf-") as folder:
            work = Path(folder)
            await asyncio.to_thread((work / "report.html").write_text, html, "utf-8")
            process = await asyncio.create_subprocess_exec(
                *_arguments(program, work),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # its own process group, killed whole past the limit
                env={**os.environ, "HOME": str(work)},
            )
            try:
                _out, err = await asyncio.wait_for(process.communicate(), limit)
            except TimeoutError:
                _kill_group(process.pid)
                await process.wait()
                raise PdfError(f"Chromium did not print the report within {limit:g} s") from None
            except asyncio.CancelledError:
                _kill_group(process.pid)
                await process.wait()
                raise
            target = work / "report.pdf"
            size = target.stat().st_size if target.exists() else -1
            if process.returncode != 0 or size <= 0:
                said = err.decode(errors="replace").strip().splitlines()[-3:]
                raise PdfError(
                    f"Chromium exited {process.returncode} without a PDF: {' | '.join(said)}"[:500]
                )
            if size > max_bytes:
                raise PdfError(f"the PDF is larger than {max_bytes} bytes")
            data = await asyncio.to_thread(target.read_bytes)
    if not data.startswith(b"%PDF-"):
        raise PdfError("Chromium wrote something that is not a PDF")
    return data


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
