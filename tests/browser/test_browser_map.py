"""The map page in chromium: signed in with a one-time link, a device found, a blast radius and
a path analysis run from the page's forms, and what Cytoscape.js drew (read through its API)
compared with the gateway's own answers; screenshots and axe-core reports kept as artefacts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

pytestmark = pytest.mark.integration

#: The package fixture ``ui_gateway`` (conftest.Gateway) and a selenium ``browser``.
Gateway = Any
Driver = Any

AXE = Path(__file__).parent / "assets" / "axe.min.js"

_DRAWN = """
const done = arguments[0];
window.meshqMap.ready.then(() => {
  const cy = window.meshqMap.cy;
  const ids = (sel) => cy ? cy.$(sel).map((e) => e.id()).sort() : [];
  done({
    devices: ids("node.device"),
    groups: ids("node.group"),
    edges: cy ? cy.edges().map((e) => [e.data("source"), e.data("target"), e.data("links")]) : [],
    affected: ids("node.affected"),
    degraded: ids("node.degraded"),
    failed: ids("node.failed"),
    lost: cy ? cy.edges(".lost").map((e) => [e.data("source"), e.data("target")]) : [],
    on_path: ids("node.on-path"),
    path_edges: cy ? cy.edges(".on-path").map((e) => [e.data("source"), e.data("target")]) : [],
    resources: performance.getEntriesByType("resource").map((r) => r.name),
    first_view: performance.getEntriesByName("map:first-view", "measure").map((m) => m.duration),
  });
});
"""


def drawn(browser: Driver) -> dict[str, Any]:
    result: dict[str, Any] = browser.execute_async_script(_DRAWN)
    return result


def wait_for_text(browser: Driver, element_id: str, text: str, timeout: float = 30) -> str:
    WebDriverWait(browser, timeout).until(
        ec.text_to_be_present_in_element((By.ID, element_id), text)
    )
    return str(browser.find_element(By.ID, element_id).text)


def open_map(browser: Driver, gateway: Gateway) -> dict[str, Any]:
    browser.get(f"{gateway.url}/ui/map")
    return drawn(browser)


def pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


@pytest.fixture(scope="module")
def signed_in(browser: Driver, ui_gateway: Gateway) -> Driver:
    link = ui_gateway.sign_in_link()
    assert ui_gateway.key not in link
    browser.get(link)
    # the link lands on the UI with the session cookie set (HttpOnly: not readable by scripts)
    assert urlsplit(browser.current_url).path == "/ui/"
    cookie = browser.get_cookie("meshq_session")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert browser.execute_script("return document.cookie") == ""
    return browser


def test_a_used_link_does_not_sign_in_again(browser: Driver, ui_gateway: Gateway) -> None:
    link = ui_gateway.sign_in_link()
    browser.get(link)
    browser.delete_all_cookies()
    browser.get(link)
    assert "does not work" in browser.page_source
    browser.get(f"{ui_gateway.url}/ui/map")
    WebDriverWait(browser, 30).until(ec.visibility_of_element_located((By.ID, "signin")))
    assert browser.find_element(By.ID, "app").get_attribute("hidden") is not None


def test_the_first_view_draws_what_the_gateway_answers(
    signed_in: Driver, ui_gateway: Gateway, artefacts: Path
) -> None:
    seen = open_map(signed_in, ui_gateway)
    view = ui_gateway.api("GET", "/map/view").json()
    devices = ui_gateway.api("POST", "/queries/all_devices?limit=10000", {"managed_only": False})
    edges = ui_gateway.api("POST", "/queries/topology_edges?limit=10000", {}).json()["rows"]
    names = {r["device"] for r in devices.json()["rows"]}
    names |= {e["a_device"] for e in edges} | {e["b_device"] for e in edges}
    # the demo network is small: every device is drawn, and nothing else is a device node
    assert seen["devices"] == sorted(names) == sorted(n["id"] for n in view["nodes"])
    assert seen["groups"] == []
    # every link is drawn once between its two devices (parallel links added up)
    links: dict[tuple[str, str], int] = {}
    for e in edges:
        key = pair(e["a_device"], e["b_device"])
        links[key] = links.get(key, 0) + 1
    assert {pair(a, b): n for a, b, n in seen["edges"]} == links
    # nothing came from another origin
    origin = urlsplit(ui_gateway.url).netloc
    assert seen["resources"] and all(urlsplit(r).netloc == origin for r in seen["resources"])
    assert len(seen["first_view"]) == 1
    signed_in.save_screenshot(str(artefacts / "map-first-view.png"))


def test_find_a_device_by_name_and_by_an_endpoint_ip(
    signed_in: Driver, ui_gateway: Gateway, artefacts: Path
) -> None:
    open_map(signed_in, ui_gateway)
    box = signed_in.find_element(By.ID, "search")
    box.clear()
    box.send_keys("hq-dist-01")
    signed_in.find_element(By.CSS_SELECTOR, "#search-form button[type=submit]").click()
    result = WebDriverWait(signed_in, 30).until(
        ec.element_to_be_clickable((By.XPATH, "//ul[@id='search-results']//button"))
    )
    assert result.text == "hq-dist-01"
    result.click()
    wait_for_text(signed_in, "device-name", "hq-dist-01")
    neighbours = ui_gateway.api("POST", "/queries/device_neighbors", {"device": "hq-dist-01"})
    count = neighbours.json()["row_count"]
    assert count > 0
    wait_for_text(signed_in, "device-sections", f"{count} rows (device_neighbors)")
    selected = signed_in.execute_script(
        "return window.meshqMap.cy.$('node:selected').map((n) => n.id())"
    )
    assert selected == ["hq-dist-01"]
    signed_in.save_screenshot(str(artefacts / "map-device-panel.png"))
    # an endpoint's address: found through locate_endpoint_by_ip, on its switch
    located = ui_gateway.api("POST", "/queries/locate_endpoint_by_ip", {"ip": "10.1.10.50"})
    switches = sorted({r["device"] for r in located.json()["rows"] if r["device"]})
    assert switches
    box.clear()
    box.send_keys("10.1.10.50")
    signed_in.find_element(By.CSS_SELECTOR, "#search-form button[type=submit]").click()
    text = wait_for_text(signed_in, "search-results", "10.1.10.50 on")
    assert all(s in text for s in switches)


def test_a_blast_radius_is_drawn_as_the_api_answers(
    signed_in: Driver, ui_gateway: Gateway, artefacts: Path
) -> None:
    open_map(signed_in, ui_gateway)
    signed_in.find_element(By.CSS_SELECTOR, "#blast-box summary").click()
    Select(signed_in.find_element(By.ID, "blast-kind")).select_by_value("device")
    target = signed_in.find_element(By.ID, "blast-target")
    target.clear()
    target.send_keys("hq-dist-01")
    depth = signed_in.find_element(By.ID, "blast-depth")
    depth.clear()
    depth.send_keys("3")
    signed_in.find_element(By.CSS_SELECTOR, "#blast-form button[type=submit]").click()
    wait_for_text(signed_in, "blast-answer", "Severity")
    seen = drawn(signed_in)
    answer = ui_gateway.api(
        "POST",
        "/graph/chaos-simulate",
        {"scenario_type": "device_failure", "target": "hq-dist-01", "depth": 3},
    ).json()
    assert seen["affected"] == sorted(answer["affected_devices"])
    assert seen["degraded"] == sorted(answer["degraded_devices"]) and seen["degraded"]
    assert seen["failed"] == ["hq-dist-01"]
    lost = {
        pair(p[i], p[i + 1])
        for e in answer["lost_paths"]
        for p in e["lost"]
        for i in range(len(p) - 1)
    }
    assert lost and {pair(a, b) for a, b in seen["lost"]} == lost
    text = signed_in.find_element(By.ID, "blast-answer").text
    assert f"Severity {answer['severity']}" in text
    signed_in.save_screenshot(str(artefacts / "map-blast-radius.png"))


def test_a_path_analysis_is_drawn_hop_by_hop(
    signed_in: Driver, ui_gateway: Gateway, artefacts: Path
) -> None:
    open_map(signed_in, ui_gateway)
    signed_in.find_element(By.CSS_SELECTOR, "#path-box summary").click()
    for field, value in (
        ("path-src", "10.1.10.50"),
        ("path-dst", "10.130.0.20"),
        ("path-port", "5432"),
    ):
        box = signed_in.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)
    Select(signed_in.find_element(By.ID, "path-proto")).select_by_visible_text("tcp")
    signed_in.find_element(By.CSS_SELECTOR, "#path-form button[type=submit]").click()
    wait_for_text(signed_in, "path-answer", "Verdict")
    params = {"source": "10.1.10.50", "destination": "10.130.0.20", "protocol": "tcp", "port": 5432}
    rows = ui_gateway.api("POST", "/queries/path_analysis", params).json()["rows"]
    first = rows[0]
    hops = [h["device"] for h in first["hops"]]
    seen = drawn(signed_in)
    assert seen["on_path"] == sorted(set(hops))
    assert {pair(a, b) for a, b in seen["path_edges"]} == {
        pair(hops[i], hops[i + 1]) for i in range(len(hops) - 1)
    }
    table = signed_in.find_elements(By.CSS_SELECTOR, "#path-answer tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[1].text for r in table] == hops
    text = signed_in.find_element(By.ID, "path-answer").text
    assert f"Verdict: {first['verdict']}" in text
    for hop in first["hops"]:
        for decision in hop["decisions"]:
            rule = f"{decision['rule_set']} #{decision['position']} {decision['name']}"
            assert f"{decision['verdict']}: {rule}" in text
    branches = Select(signed_in.find_element(By.ID, "path-branch")).options
    assert len(branches) == len(rows)
    signed_in.save_screenshot(str(artefacts / "map-path-analysis.png"))


def test_a_refused_request_shows_the_gateways_message(
    signed_in: Driver, ui_gateway: Gateway
) -> None:
    open_map(signed_in, ui_gateway)
    signed_in.find_element(By.CSS_SELECTOR, "#path-box summary").click()
    for field, value in (("path-src", "not-an-address"), ("path-dst", "10.130.0.20")):
        box = signed_in.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)
    signed_in.find_element(By.CSS_SELECTOR, "#path-form button[type=submit]").click()
    api = ui_gateway.api(
        "POST",
        "/queries/path_analysis",
        {"source": "not-an-address", "destination": "10.130.0.20", "protocol": "tcp"},
    )
    assert api.status_code == 422
    text = wait_for_text(signed_in, "path-answer", "422")
    assert api.json()["detail"] in text
    assert signed_in.execute_script("return window.meshqMap.cy.$('.on-path').length") == 0


def test_snapshots_are_offered_and_compared(signed_in: Driver, ui_gateway: Gateway) -> None:
    listed = ui_gateway.api("GET", "/snapshots").json()
    ids = [s["snapshot_id"] for s in listed]
    assert ids
    open_map(signed_in, ui_gateway)
    signed_in.find_element(By.CSS_SELECTOR, "#diff-box summary").click()
    WebDriverWait(signed_in, 30).until(
        lambda d: len(Select(d.find_element(By.ID, "diff-b")).options) == len(ids)
    )
    offered = [
        o.get_attribute("value") for o in Select(signed_in.find_element(By.ID, "diff-b")).options
    ]
    assert offered == ids
    Select(signed_in.find_element(By.ID, "diff-a")).select_by_value(ids[-1])
    Select(signed_in.find_element(By.ID, "diff-b")).select_by_value(ids[0])
    signed_in.find_element(By.CSS_SELECTOR, "#diff-form button[type=submit]").click()
    answer = ui_gateway.api("GET", f"/snapshots/{ids[-1]}/diff/{ids[0]}").json()
    if answer["empty"]:
        wait_for_text(signed_in, "diff-answer", "Nothing differs")
    else:
        text = wait_for_text(signed_in, "diff-answer", "appeared")
        for kind, change in answer["kinds"].items():
            assert f"{kind}: {len(change['added'])} appeared" in text


@pytest.mark.parametrize("page", ["/ui/map", "/ui/"], ids=["map", "queries"])
def test_no_serious_accessibility_violations(
    signed_in: Driver, ui_gateway: Gateway, artefacts: Path, page: str
) -> None:
    signed_in.get(f"{ui_gateway.url}{page}")
    if page == "/ui/map":
        drawn(signed_in)
    else:
        wait_for_text(signed_in, "status", "queries")
    # WebDriver's scripts are not the page's: the CSP does not apply to them
    signed_in.execute_script(AXE.read_text())
    report: dict[str, Any] = signed_in.execute_async_script(
        "const done = arguments[0];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then((r) => done(r), (e) => done({error: String(e)}));"
    )
    assert "error" not in report, report
    name = page.strip("/").replace("/", "-")
    (artefacts / f"axe-{name}.json").write_text(json.dumps(report["violations"], indent=2))
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:5])
        for v in report["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
