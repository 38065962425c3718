"""A device's command line over an interactive SSH session, driven by its prompt.

Nothing waits a fixed time: every step reads until what ends it has arrived (the echo of the
command, then the device's prompt on a line of its own), within the step's timeout. The
prompt is learnt at login (the last line, once the device prints it again after a newline)
and paging is turned off with the platform's own commands; a pager prompt that shows up
anyway (a device that ignores the command) is answered with a space and taken out of the
output.

What a command returns matches what netmiko's ``send_command`` returned for the same
session: line endings as ``\\n``, the echoed command and the trailing prompt left out, no
terminal escape sequences, and on Junos no trailing ``{master:0}``-style context line.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass

import asyncssh

__all__ = [
    "DIALECTS",
    "CliClosed",
    "CliSession",
    "CliTimeout",
    "Dialect",
    "command_output",
    "hostname_of",
    "normalise",
    "prompt_line",
]

#: The longest prompt taken for one (a longer last line is output still coming).
MAX_PROMPT = 255
#: How many times login looks again for a prompt that repeats.
PROMPT_TRIES = 4


@dataclass(frozen=True)
class Dialect:
    """How one platform's command line is driven."""

    #: Sent once logged in, in order (terminal width, then paging off).
    setup: tuple[str, ...]
    #: The characters a prompt ends with.
    terminators: str
    #: The pager's prompt at the end of what arrived (paging left on by the device).
    pager: re.Pattern[str]
    #: ``user@host>`` prompts: the device's name is after the ``@``.
    user_at: bool = False
    #: ``enable`` (with the profile's secret) leads from ``>`` to the privileged ``#``.
    enable: bool = False
    #: A login that lands in a Unix shell (``%``/``$``) enters the CLI with ``cli``.
    unix_shell: bool = False
    #: A trailing context line that is not output (Junos ``{master:0}``, ``[edit]``).
    context: re.Pattern[str] | None = None


_CISCO_PAGER = re.compile(r" ?--More-- ?$")
DIALECTS: dict[str, Dialect] = {
    "cisco_ios": Dialect(
        setup=("terminal width 511", "terminal length 0"),
        terminators=">#",
        pager=_CISCO_PAGER,
        enable=True,
    ),
    "cisco_nxos": Dialect(
        setup=("terminal width 511", "terminal length 0"),
        terminators=">#",
        pager=_CISCO_PAGER,
        enable=True,
    ),
    "arista_eos": Dialect(
        setup=("terminal width 511", "terminal length 0"),
        terminators=">#",
        pager=_CISCO_PAGER,
        enable=True,
    ),
    "juniper_junos": Dialect(
        setup=(
            "set cli screen-width 511",
            "set cli complete-on-space off",
            "set cli screen-length 0",
        ),
        terminators=">#%$",
        pager=re.compile(r"---\(more(?: \d{1,3}%)?\)---$"),
        user_at=True,
        unix_shell=True,
        context=re.compile(
            r"\[edit.*\]|\{master:?.*\}|\{backup:?.*\}|\{line.*\}|\{primary.*\}|\{secondary.*\}",
            re.I,
        ),
    ),
}

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_ERASE = re.compile(r"\x08+ *\x08*|\r +\r(?!\n)")
_NEWLINES = re.compile(r"\r\r\n\r|\r\r\r\n|\r\r\n|\r\n|\n\r")
_PASSWORD = re.compile(r"(?:^|\n)[^\n]*[Pp]assword:\s*$")


class CliTimeout(Exception):
    """A step did not end within its time; ``step`` says which."""

    def __init__(self, step: str) -> None:
        super().__init__(step)
        self.step = step


class CliClosed(Exception):
    """The device closed the session before the step ended."""


def prompt_line(text: str, terminators: str) -> str | None:
    """The prompt ``text`` ends with (its last line, without trailing blanks), or None when
    that line is not one: empty, too long, or not ending with one of ``terminators``."""
    start = text.rfind("\n") + 1
    line = _ERASE.sub("", _ANSI.sub("", text[start:])).replace("\r", "").rstrip()
    if not line or len(line) > MAX_PROMPT or line[-1] not in terminators:
        return None
    return line


def hostname_of(prompt: str, dialect: Dialect) -> str:
    """The device's name in its prompt: no terminator, mode in brackets, or ``user@``."""
    base = prompt[:-1].rstrip()
    if dialect.user_at and "@" in base:
        base = base.split("@", 1)[1]
    base = re.sub(r"\([^)]*\)$", "", base)
    if dialect.unix_shell:
        base = base.split(":", 1)[0]
    return base


def normalise(text: str) -> str:
    """Escape sequences and erased pager prompts out, ``\\n`` line endings (netmiko's)."""
    return _NEWLINES.sub("\n", _ERASE.sub("", _ANSI.sub("", text))).replace("\r", "\n")


def command_output(text: str, command: str, dialect: Dialect) -> str:
    """What the device printed for ``command``, from everything read for it (leftovers,
    the echo, the output, the prompt), as netmiko's ``send_command`` gave it: the lines
    between the echoed command and the prompt, ``\n`` line endings, no escape sequences;
    on Junos a trailing context line (``{master:0}``) dropped."""
    text = normalise(text)
    at = text.find(command)
    echo_end = text.find("\n", at + len(command)) + 1 if at >= 0 else 0
    prompt_at = text.rfind("\n")
    body = text[echo_end:prompt_at] if prompt_at >= echo_end else ""
    if dialect.context is not None:
        head, sep, last = body.rpartition("\n")
        if sep and dialect.context.search(last):
            body = head
    return body


class _Shell(asyncssh.SSHClientSession[str]):
    """Collects what the device prints; wakes the reader on every arrival."""

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.arrived = asyncio.Event()
        self.closed = False

    def data_received(self, data: str, datatype: asyncssh.DataType) -> None:
        self.chunks.append(data)
        self.arrived.set()

    def eof_received(self) -> bool:
        self.closed = True
        self.arrived.set()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.arrived.set()


class CliSession:
    """One device's command line: :meth:`open` (prompt, privilege, paging), then :meth:`run`
    per command. Every step is bounded by ``timeout`` seconds."""

    def __init__(self, conn: asyncssh.SSHClientConnection, dialect: Dialect, timeout: float):
        self.conn = conn
        self.dialect = dialect
        self.timeout = timeout
        self.prompt = ""
        self.hostname = ""
        #: Set when ``enable`` was refused (collection goes on at the user prompt).
        self.enable_refused = False
        self._chan: asyncssh.SSHClientChannel[str] | None = None
        self._shell = _Shell()
        self._buffer = ""

    async def open(self, secret: str | None = None) -> None:
        """Start the shell, learn the prompt, enter privileged mode when a secret is given
        and the platform has one, and run the platform's setup (width, paging)."""
        self._chan, _ = await asyncio.wait_for(
            self.conn.create_session(
                lambda: self._shell,
                term_type="vt100",
                term_size=(511, 1000),
                encoding="utf-8",
                errors="replace",
            ),
            self.timeout,
        )
        await self._learn_prompt()
        if self.dialect.unix_shell and self.prompt[-1] in "%$":
            self._send("cli")
            await self._learn_prompt(
                await self._read_until(self._any_prompt(">#"), "entering the CLI")
            )
        if secret and self.dialect.enable and self.prompt.endswith(">"):
            await self._enable(secret)
        for command in self.dialect.setup:
            await self.run(command)

    async def run(self, command: str) -> str:
        """Send ``command`` and return its output once the prompt is back."""
        self._send(command)
        echo_end = -1

        def done(buffer: str) -> int | None:
            nonlocal echo_end
            if echo_end < 0:
                at = buffer.find(command)
                newline = buffer.find("\n", at + len(command)) if at >= 0 else -1
                if newline < 0:
                    return None
                echo_end = newline + 1
            start = buffer.rfind("\n") + 1
            if start < echo_end or prompt_line(buffer[start:], self.dialect.terminators) != (
                self.prompt
            ):
                return None
            return len(buffer)

        text = await self._read_until(done, f"running {command!r}", pager=True)
        return command_output(text, command, self.dialect)

    def close(self) -> None:
        if self._chan is not None:
            self._chan.close()

    # ------------------------------------------------------------------ internals

    def _send(self, line: str) -> None:
        assert self._chan is not None
        self._chan.write(line + "\n")

    def _any_prompt(self, terminators: str) -> Callable[[str], int | None]:
        def done(buffer: str) -> int | None:
            return len(buffer) if prompt_line(buffer, terminators) else None

        return done

    async def _learn_prompt(self, text: str | None = None) -> None:
        """The prompt is the last line once the device has printed it twice in a row: a
        banner line that happens to end like a prompt is not taken for one. ``text``: what
        was read up to a first prompt already."""
        terminators = self.dialect.terminators
        if text is None:
            text = await self._read_until(self._any_prompt(terminators), "waiting for the prompt")
        candidate = prompt_line(text, terminators)
        for _ in range(PROMPT_TRIES):
            self._send("")
            text = await self._read_until(self._any_prompt(terminators), "confirming the prompt")
            seen = prompt_line(text, terminators)
            if seen is not None and seen == candidate:
                self.prompt = seen
                self.hostname = hostname_of(seen, self.dialect)
                return
            candidate = seen
        raise CliTimeout("waiting for a steady prompt")

    async def _enable(self, secret: str) -> None:
        """``enable``, answering its password prompt with ``secret``; a refusal leaves the
        session at the user prompt (``enable_refused``). A device that asks again after a
        wrong secret is given empty answers until it gives up (IOS asks three times)."""
        self._send("enable")
        user_prompt = self.prompt
        echo_end = -1

        def answered(buffer: str) -> int | None:
            if _PASSWORD.search(buffer[-200:]):
                return len(buffer)
            line = prompt_line(buffer, ">#")
            return len(buffer) if line in (user_prompt, user_prompt[:-1] + "#") else None

        def asked(buffer: str) -> int | None:
            nonlocal echo_end
            if echo_end < 0:
                at = buffer.find("enable")
                newline = buffer.find("\n", at) if at >= 0 else -1
                if newline < 0:
                    return None
                echo_end = newline + 1
            return len(buffer) if answered(buffer[echo_end:]) is not None else None

        text = await self._read_until(asked, "entering privileged mode")
        for answer in (secret, "", ""):
            if not _PASSWORD.search(text[-200:]):
                break
            self._send(answer)
            text = await self._read_until(answered, "entering privileged mode")
        line = prompt_line(text, ">#")
        if line is not None and line.endswith("#"):
            self.prompt = line
        else:
            self.enable_refused = True

    async def _read_until(
        self, done: Callable[[str], int | None], step: str, *, pager: bool = False
    ) -> str:
        """Read until ``done(buffer)`` gives where the step's text ends; that text is taken
        off the buffer and returned. With ``pager``, a pager prompt at the end of what has
        arrived is answered (a space) and cut out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        shell = self._shell
        while True:
            if shell.chunks:
                self._buffer += "".join(shell.chunks)
                shell.chunks.clear()
                end = done(self._buffer)
                if end is not None:
                    text, self._buffer = self._buffer[:end], self._buffer[end:]
                    return text
                tail = self._buffer[-40:]
                if pager and (more := self.dialect.pager.search(tail)):
                    self._buffer = self._buffer[: len(self._buffer) - len(tail) + more.start()]
                    assert self._chan is not None
                    self._chan.write(" ")
            if shell.closed:
                raise CliClosed(step)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise CliTimeout(step)
            shell.arrived.clear()
            try:
                await asyncio.wait_for(shell.arrived.wait(), remaining)
            except TimeoutError:
                raise CliTimeout(step) from None
