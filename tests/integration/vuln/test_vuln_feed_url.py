"""Advisory files fetched from a URL (``MESHQ_VULN_FEED_URL``, ``meshq vuln load URL``), served by
Debian's nginx from the real records of tests/fixtures/vuln: its own ETag and Last-Modified
answers, gzip content coding, redirects, and a rate limit slow enough to reach the timeout."""

from __future__ import annotations

import asyncio
import gzip
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from network_discovery.cli import cli
from network_discovery.vuln.feed import feed_settings, load_url, start_watch
from network_discovery.vuln.remote import UrlError, check_url
from network_discovery.vuln.store import LoadCounts, SqliteAdvisoryStore

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed"),
]

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vuln"
WEB_UI = FIXTURES / "cve5" / "CVE-2023-20198.json"
JWEB = FIXTURES / "cve5" / "CVE-2023-36844.json"
NXAPI = FIXTURES / "csaf" / "cisco-sa-nxos-nxapi-csrf-wRMzWL9z.json"

CONF = """
daemon off;
master_process off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 64; }}
http {{
    types {{ application/json json; application/gzip gz; }}
    log_format feed escape=none '$request_uri $status inm="$http_if_none_match" '
                                'ims="$http_if_modified_since" enc="$sent_http_content_encoding"';
    access_log {root}/access.log feed;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root}/www;
        gzip on;
        gzip_types application/json;
        gzip_min_length 0;
        location = /moved.json {{ return 301 /feed/web-ui.json; }}
        location = /loop.json {{ return 302 /loop.json; }}
        location /slow/ {{ limit_rate 2k; }}
    }}
}}
"""


@dataclass
class Nginx:
    url: str
    www: Path
    log: Path

    def requests(self, path: str) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if line.startswith(path + " ")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    root = tmp_path_factory.mktemp("nginx")
    (root / "tmp").mkdir()
    www = root / "www"
    (www / "feed").mkdir(parents=True)
    (www / "slow").mkdir()
    shutil.copy(WEB_UI, www / "feed" / "web-ui.json")
    shutil.copy(NXAPI, www / "feed" / "nxapi.json")
    shutil.copy(NXAPI, www / "slow" / "nxapi.json")
    (www / "feed" / "jweb.json.gz").write_bytes(gzip.compress(JWEB.read_bytes()))
    # 4 MiB of JSON whitespace in 4 KiB of gzip: refused by its decompressed size
    (www / "feed" / "bomb.json.gz").write_bytes(gzip.compress(b"[" + b" " * (4 << 20) + b"]"))
    (www / "feed" / "hello.json").write_text('{"hello": "world"}')
    port = _free_port()
    conf = root / "nginx.conf"
    conf.write_text(CONF.format(root=root, port=port))
    with (root / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen(
            ["nginx", "-p", str(root), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait(timeout=10)
                said = (root / "stderr.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"nginx did not start: {said}")
            time.sleep(0.05)
    try:
        yield Nginx(f"http://127.0.0.1:{port}", www, root / "access.log")
    finally:
        process.terminate()
        process.wait(timeout=10)


def _store(tmp_path: Path) -> SqliteAdvisoryStore:
    return SqliteAdvisoryStore(tmp_path / "advisories.sqlite3")


async def test_a_second_fetch_is_conditional_and_a_change_is_loaded(
    nginx: Nginx, tmp_path: Path
) -> None:
    store = _store(tmp_path)
    url = f"{nginx.url}/feed/web-ui.json"
    first = await load_url(store, url)
    assert first.result is not None and first.status == 200
    assert first.result.counts == LoadCounts(new=1)
    assert {r.cve for r in await store.all()} == {"CVE-2023-20198"}
    assert first.validators.etag and first.validators.last_modified

    again = await load_url(store, url, first)
    assert (again.result, again.status) == (None, 304)
    conditional = nginx.requests("/feed/web-ui.json")[-1]
    assert f'inm="{first.validators.etag}"' in conditional
    assert f'ims="{first.validators.last_modified}"' in conditional

    # the mirror replaces the file: a new ETag, so the next fetch reads and loads it
    target = nginx.www / "feed" / "web-ui.json"
    target.write_bytes(JWEB.read_bytes())
    later = time.time() + 5
    os.utime(target, (later, later))
    changed = await load_url(store, url, again)
    assert changed.status == 200 and changed.result is not None
    assert changed.result.counts == LoadCounts(new=1)
    assert {r.cve for r in await store.all()} == {"CVE-2023-20198", "CVE-2023-36844"}
    shutil.copy(WEB_UI, target)


async def test_gzip_coding_and_gzip_files_and_a_redirect(nginx: Nginx, tmp_path: Path) -> None:
    store = _store(tmp_path)
    coded = await load_url(store, f"{nginx.url}/feed/nxapi.json")
    assert coded.result is not None and coded.result.records == 1
    assert 'enc="gzip"' in nginx.requests("/feed/nxapi.json")[-1]  # nginx compressed it
    gz = await load_url(store, f"{nginx.url}/feed/jweb.json.gz")
    assert gz.result is not None and gz.result.records == 1
    moved = await load_url(store, f"{nginx.url}/moved.json")
    assert moved.result is not None and moved.result.records == 1
    assert {r.cve for r in await store.all()} == {
        "CVE-2021-1227",
        "CVE-2023-36844",
        "CVE-2023-20198",
    }


@pytest.mark.parametrize(
    ("path", "kwargs", "message"),
    [
        ("/feed/nxapi.json", {"max_bytes": 50_000}, "larger than 50000 bytes"),
        ("/feed/bomb.json.gz", {"max_bytes": 1 << 20}, "larger than 1048576 bytes decompressed"),
        ("/slow/nxapi.json", {"timeout": 1.0}, "no complete answer within 1 s"),
        ("/loop.json", {}, "more than 5 redirects"),
        ("/feed/missing.json", {}, "HTTP 404"),
        ("/feed/hello.json", {}, "not CSAF 2.0, NVD CVE API 2.0 or CVE JSON 5"),
    ],
    ids=["too-large", "gzip-bomb", "timeout", "redirect-loop", "not-found", "not-an-advisory"],
)
async def test_refusals_name_the_url(
    nginx: Nginx, tmp_path: Path, path: str, kwargs: dict[str, float], message: str
) -> None:
    started = time.monotonic()
    with pytest.raises(ValueError, match=message) as caught:
        await load_url(_store(tmp_path), nginx.url + path, **kwargs)  # type: ignore[arg-type]
    assert nginx.url + path in str(caught.value)
    assert time.monotonic() - started < 10
    assert await _store(tmp_path).count() == 0


async def test_credentials_in_a_url_are_not_repeated(nginx: Nginx, tmp_path: Path) -> None:
    host = nginx.url.removeprefix("http://")
    with pytest.raises(UrlError) as caught:
        await load_url(_store(tmp_path), f"http://reader:s3cret@{host}/nope.json?apiKey=k3y")
    text = str(caught.value)
    assert "HTTP 404" in text and "s3cret" not in text and "k3y" not in text


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://127.0.0.1/a.json", "http:///a.json", "http://a b/x.json"],
)
def test_only_http_urls(url: str) -> None:
    with pytest.raises(UrlError):
        check_url(url)
    with pytest.raises(ValueError, match="MESHQ_VULN_FEED_URL: "):
        feed_settings({"MESHQ_VULN_FEED_URL": url})


def test_feed_settings_read_urls_and_timeout() -> None:
    settings = feed_settings(
        {
            "MESHQ_VULN_FEED_URL": "https://a.example/x.json, https://b.example/y.json.gz",
            "MESHQ_VULN_FEED_TIMEOUT": "15",
        }
    )
    assert settings is not None and settings.directory is None
    assert settings.urls == ("https://a.example/x.json", "https://b.example/y.json.gz")
    assert settings.timeout == 15.0
    with pytest.raises(ValueError, match="MESHQ_VULN_FEED_TIMEOUT: between 1 s and 600 s"):
        feed_settings(
            {"MESHQ_VULN_FEED_URL": "https://a.example/x", "MESHQ_VULN_FEED_TIMEOUT": "0"}
        )


async def test_the_scheduled_load_fetches_every_url(nginx: Nginx, tmp_path: Path) -> None:
    store = _store(tmp_path)
    env = {
        "MESHQ_VULN_FEED_URL": f"{nginx.url}/feed/nxapi.json {nginx.url}/feed/missing.json "
        f"{nginx.url}/feed/jweb.json.gz"
    }
    stop = await start_watch(store, env)
    assert stop is not None
    try:
        deadline = time.monotonic() + 30
        while await store.count() < 2:
            assert time.monotonic() < deadline, "the feed URLs were never loaded"
            await asyncio.sleep(0.05)
        # the URL that fails is logged and the others still load
        assert {r.cve for r in await store.all()} == {"CVE-2021-1227", "CVE-2023-36844"}
    finally:
        await stop()


def test_cli_loads_a_url(nginx: Nginx, tmp_path: Path) -> None:
    env = {"MESHQ_DATA_DIR": str(tmp_path), "MESHQ_POSTGRES_URL": ""}
    runner = CliRunner()
    ok = runner.invoke(cli, ["vuln", "load", f"{nginx.url}/feed/nxapi.json"], env=env)
    assert ok.exit_code == 0, ok.output
    database = tmp_path / "vuln" / "advisories.sqlite3"
    assert ok.output.strip() == (
        f"1 advisories from 1 file(s) into {database}: 1 new, 0 updated, 0 unchanged; "
        "0 about other products left out"
    )
    missing = runner.invoke(cli, ["vuln", "load", f"{nginx.url}/feed/missing.json"], env=env)
    assert missing.exit_code == 1
    assert missing.output.strip() == f"meshq: {nginx.url}/feed/missing.json: HTTP 404"
