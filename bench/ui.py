"""The web UI's map at scale: the synthetic network (``bench/synth.py``) applied to a real graph
engine behind a real gateway, the map page opened in Debian's chromium (headless, through
chromedriver), signed in with a one-time link, and its first view timed in the browser.

"First view" is the page's own performance measure ``map:first-view``: from the script's start
to the frame after the map is drawn (``/map/view`` fetched, the level-of-detail answer turned
into elements, laid out and painted). The page load before the script (navigation to
``DOMContentLoaded``) is reported beside it.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.stack import API_KEY, Stack

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TARGET_MS = 2000.0


def _say(message: str) -> None:
    print(f"[bench ui] {message}", flush=True)


def _submit(stack: Stack, devices: int) -> None:
    from meshq_runtime.service_auth import ServiceCredential, internal_client
    from meshq_runtime.snapshot_submit import submit_snapshot

    from bench.synth import generate

    network = generate(devices)

    async def submit() -> None:
        credential = ServiceCredential(stack.env["MESHQ_SERVICE_TOKEN"], caller="bench")
        async with internal_client(credential, base_url=stack.graph_url, timeout=600) as graph:
            status = await submit_snapshot(graph, network.snapshot)
            deadline = time.monotonic() + 1800
            while status.get("status") not in ("applied", "rejected"):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the synthetic snapshot was not applied in time: {status}")
                await asyncio.sleep(5)
                try:  # an engine busy applying may answer slowly: ask again
                    answer = await graph.get(
                        f"/internal/snapshots/{network.snapshot.snapshot_id}", timeout=120
                    )
                    status = answer.json()
                except httpx.HTTPError:
                    continue
        if status.get("status") != "applied":
            raise RuntimeError(f"the synthetic snapshot was not applied: {status}")

    asyncio.run(submit())


def _licensed_services(stack: Stack) -> str:
    """Graph engine and gateway following an Enterprise license state (10,000 network devices)
    signed by the tests' license key pair, as the license agent would publish it; the
    gateway's URL."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from support.license import publish_license, signing_public_pem

    stack.env["MESHOPTIXIQ_LICENSE_PUBLIC_KEY"] = signing_public_pem()
    stack.env["MESHQ_LICENSING_URL"] = "http://127.0.0.1:9"
    graph = stack.spawn("meshq_graph_engine").wait_healthy(timeout=90)
    stack.graph_url = graph.url
    gateway = stack.spawn("meshq_query_gateway", MESHQ_GRAPH_ENGINE_URL=graph.url)
    gateway.wait_healthy(timeout=90, path="/health")
    asyncio.run(publish_license(stack.env, "enterprise"))
    time.sleep(5)  # the services follow the license topic
    return str(gateway.url)


def _driver() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.add_argument("--window-size=1400,900")
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


_READ = """
const done = arguments[0];
window.meshqMap.ready.then(() => {
  const m = performance.getEntriesByName("map:first-view", "measure")[0];
  const f = performance.getEntriesByName("map:view-fetch", "measure")[0];
  const nav = performance.getEntriesByType("navigation")[0];
  const cy = window.meshqMap.cy;
  done({
    first_view_ms: m ? m.duration : null,
    view_fetch_ms: f ? f.duration : null,
    dom_content_loaded_ms: nav ? nav.domContentLoadedEventEnd : null,
    nodes: cy ? cy.nodes().length : 0,
    edges: cy ? cy.edges().length : 0,
    groups: cy ? cy.nodes(".group").length : 0,
    status: document.getElementById("status").textContent,
  });
});
"""


def run(devices: int = 10_000, repeats: int = 5) -> dict[str, Any]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        return {
            "skipped": f"{CHROMIUM} and {CHROMEDRIVER} are needed (apt: chromium chromium-driver)"
        }
    with Stack() as stack:
        gateway = _licensed_services(stack)
        _say(f"stack up; applying the synthetic network of {devices} devices")
        started = time.monotonic()
        _submit(stack, devices)
        _say(f"applied in {time.monotonic() - started:.0f}s")
        headers = {"X-API-Key": API_KEY}
        # the first /map/view of a revision reads the network; the next is the view kept for it
        started = time.perf_counter()
        view = httpx.get(f"{gateway}/map/view", headers=headers, timeout=300)
        cold_ms = (time.perf_counter() - started) * 1000
        view.raise_for_status()
        body = view.json()
        started = time.perf_counter()
        again = httpx.get(f"{gateway}/map/view", headers=headers, timeout=300)
        warm_ms = (time.perf_counter() - started) * 1000
        again.raise_for_status()
        _say(
            f"/map/view first of the revision {cold_ms:.0f} ms, kept {warm_ms:.1f} ms "
            f"({again.headers.get('cache-status')})"
        )
        driver = _driver()
        driver.set_script_timeout(120)
        runs: list[dict[str, Any]] = []
        try:
            for _ in range(repeats):
                link = httpx.post(f"{gateway}/admin/ui-links", headers=headers, timeout=30)
                link.raise_for_status()
                driver.delete_all_cookies()
                driver.get(link.json()["url"])
                driver.get(f"{gateway}/ui/map")
                runs.append(driver.execute_async_script(_READ))
        finally:
            driver.quit()
    first = [float(r["first_view_ms"]) for r in runs if r.get("first_view_ms") is not None]
    result = {
        "devices": body["devices"],
        "links": body["links"],
        "groups": len(body["groups"]),
        "drawn_nodes": runs[-1]["nodes"] if runs else 0,
        "drawn_edges": runs[-1]["edges"] if runs else 0,
        "repeats": len(first),
        "first_view_ms_median": round(statistics.median(first), 1) if first else None,
        "first_view_ms_max": round(max(first), 1) if first else None,
        "view_fetch_ms_median": round(
            statistics.median(float(r["view_fetch_ms"] or 0) for r in runs), 1
        )
        if runs
        else None,
        "dom_content_loaded_ms_median": round(
            statistics.median(float(r["dom_content_loaded_ms"] or 0) for r in runs), 1
        )
        if runs
        else None,
        "view_first_of_revision_ms": round(cold_ms, 1),
        "view_kept_ms": round(warm_ms, 1),
        "target_ms": TARGET_MS,
        "browser": "Debian chromium, headless",
    }
    _say(str(result))
    return result


def markdown(r: dict[str, Any]) -> list[str]:
    if "skipped" in r:
        return ["## Web UI map", "", f"Not measured: {r['skipped']}.", ""]
    return [
        "## Web UI map",
        "",
        f"The map page on the synthetic network of {r['devices']:,} devices and {r['links']:,} "
        f"links, in headless chromium: the first view draws {r['drawn_nodes']} nodes "
        f"({r['groups']} site/role groups) and {r['drawn_edges']} aggregated edges.",
        "",
        "| measure | median | max | target |",
        "|---|---|---|---|",
        f"| first view (script start to the painted map), ms | {r['first_view_ms_median']} "
        f"| {r['first_view_ms_max']} | ≤ {r['target_ms']:.0f} |",
        f"| of which `/map/view` answered (server side), ms | {r['view_fetch_ms_median']} | | |",
        f"| page load to DOMContentLoaded, ms | {r['dom_content_loaded_ms_median']} | | |",
        f"| `/map/view`, first call after a change (reads the network), ms "
        f"| {r.get('view_first_of_revision_ms')} | | |",
        f"| `/map/view`, the view kept for the revision, ms | {r.get('view_kept_ms')} | | |",
        "",
    ]


if __name__ == "__main__":
    import sys

    print("\n".join(markdown(run(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000, 5))))
