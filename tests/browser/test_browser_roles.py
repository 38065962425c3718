"""Roles in the browser: a read-only API key signs in through the page's form (the key in the
body, never in a URL), the page says who is signed in and with which roles, the map draws, and
what the key's policy does not grant (path analysis, blast radius) answers with the gateway's
own message where the answer would have been; the query page lists what the key may see."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from test_browser_map import AXE, drawn, wait_for_text

pytestmark = pytest.mark.integration

Gateway = Any
Driver = Any


def _as(gateway: Gateway, key: str, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(
        method, f"{gateway.url}{path}", headers={"X-API-Key": key}, json=body, timeout=60
    )


@pytest.fixture(scope="module")
def viewer(browser: Driver, ui_gateway: Gateway) -> Iterator[tuple[Driver, str]]:
    key = ui_gateway.named_key("browser-viewer", "Viewers")
    browser.delete_all_cookies()
    yield browser, key
    browser.delete_all_cookies()  # the other modules sign in as they need


def test_a_read_only_key_signs_in_and_is_refused_what_its_policy_denies(
    viewer: tuple[Driver, str], ui_gateway: Gateway, artefacts: Path
) -> None:
    browser, key = viewer
    browser.get(f"{ui_gateway.url}/ui/map")
    form = WebDriverWait(browser, 30).until(ec.visibility_of_element_located((By.ID, "signin-key")))
    browser.save_screenshot(str(artefacts / "sign-in-form.png"))
    browser.find_element(By.ID, "api-key").send_keys(key)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda d: urlsplit(d.current_url).path == "/ui/map")
    assert key not in browser.current_url
    seen = drawn(browser)
    assert seen["devices"], "the map draws for a key that may read the topology"
    who = wait_for_text(browser, "whoami", "Signed in as browser-viewer")
    assert "roles: viewer" in who

    # path analysis: not granted; the gateway's own words, and nothing drawn
    params = {"source": "10.1.10.50", "destination": "10.130.0.20", "protocol": "tcp"}
    api = _as(ui_gateway, key, "POST", "/queries/path_analysis", params)
    assert api.status_code == 403
    browser.find_element(By.CSS_SELECTOR, "#path-box summary").click()
    for field, value in (("path-src", params["source"]), ("path-dst", params["destination"])):
        box = browser.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)
    browser.find_element(By.CSS_SELECTOR, "#path-form button[type=submit]").click()
    text = wait_for_text(browser, "path-answer", "403")
    assert api.json()["detail"] in text
    assert browser.find_element(By.CSS_SELECTOR, "#path-answer [role=alert]").is_displayed()
    assert browser.execute_script("return window.meshqMap.cy.$('.on-path').length") == 0

    # blast radius: not granted either
    blast = _as(
        ui_gateway,
        key,
        "POST",
        "/graph/chaos-simulate",
        {"scenario_type": "device_failure", "target": "hq-dist-01", "depth": 2},
    )
    assert blast.status_code == 403
    browser.find_element(By.CSS_SELECTOR, "#blast-box summary").click()
    target = browser.find_element(By.ID, "blast-target")
    target.clear()
    target.send_keys("hq-dist-01")
    browser.find_element(By.CSS_SELECTOR, "#blast-form button[type=submit]").click()
    text = wait_for_text(browser, "blast-answer", "403")
    assert blast.json()["detail"] in text
    assert browser.execute_script("return window.meshqMap.cy.$('.affected').length") == 0
    browser.save_screenshot(str(artefacts / "map-refused-by-rbac.png"))

    # the query page lists exactly what the key may see
    listed = sorted(q["name"] for q in _as(ui_gateway, key, "GET", "/queries").json())
    browser.get(f"{ui_gateway.url}/ui/")
    wait_for_text(browser, "status", "queries")
    shown = sorted(b.text for b in browser.find_elements(By.CSS_SELECTOR, "#queries button"))
    assert shown == listed and "path_analysis" not in shown


def test_a_wrong_key_is_refused_in_words(viewer: tuple[Driver, str], ui_gateway: Gateway) -> None:
    browser, _ = viewer
    browser.delete_all_cookies()
    browser.get(f"{ui_gateway.url}/ui/")
    form = WebDriverWait(browser, 30).until(ec.visibility_of_element_located((By.ID, "signin-key")))
    browser.find_element(By.ID, "api-key").send_keys("mqk_nothere_" + "x" * 40)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 30).until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, "[role=alert]"), "not valid")
    )
    assert browser.get_cookie("meshq_session") is None


def test_the_sign_in_page_has_no_serious_accessibility_violations(
    viewer: tuple[Driver, str], ui_gateway: Gateway, artefacts: Path
) -> None:
    browser, _ = viewer
    browser.delete_all_cookies()
    browser.get(f"{ui_gateway.url}/ui/")
    WebDriverWait(browser, 30).until(ec.visibility_of_element_located((By.ID, "signin-key")))
    browser.execute_script(AXE.read_text())
    report: dict[str, Any] = browser.execute_async_script(
        "const done = arguments[0];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then((r) => done(r), (e) => done({error: String(e)}));"
    )
    assert "error" not in report, report
    (artefacts / "axe-sign-in.json").write_text(json.dumps(report["violations"], indent=2))
    serious = [v["id"] for v in report["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == []


def test_single_sign_on_in_the_browser(
    viewer: tuple[Driver, str], ui_gateway: Gateway, artefacts: Path
) -> None:
    browser, _ = viewer
    browser.delete_all_cookies()
    browser.get(f"{ui_gateway.url}/ui/map")
    link = WebDriverWait(browser, 30).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "#signin-oidc a"))
    )
    link.click()  # to the provider, which signs the user in at once and sends the browser back
    WebDriverWait(browser, 30).until(lambda d: urlsplit(d.current_url).path == "/ui/map")
    seen = drawn(browser)
    assert seen["devices"]
    who = wait_for_text(browser, "whoami", "Signed in as ana@example.test")
    assert "single sign-on" in who and "roles: viewer" in who
    assert browser.get_cookie("meshq_oidc") is None  # the sign-in's own cookie is gone
    cookie = browser.get_cookie("meshq_session")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    browser.save_screenshot(str(artefacts / "map-single-sign-on.png"))
