"""The web UI in a real browser: Debian's chromium, driven through chromedriver by Selenium,
against the demo network in a real graph engine behind a real gateway. Skipped when chromium or
chromedriver is not installed (``apt-get install chromium chromium-driver``).

Screenshots and the accessibility reports are written to ``tmp/artefacts/browser/`` under the
repository (``MESHQ_TEST_ARTEFACTS`` names another folder).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.demo_stack import keyed_demo_stack
from support.oidc_provider import OidcProvider

pytestmark = pytest.mark.integration

CHROMIUM = os.environ.get("MESHQ_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MESHQ_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[2]


def _missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (shutil.which(path) or os.access(path, os.X_OK)):
            return f"{path} is not installed (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    return None


@pytest.fixture(scope="package")
def artefacts() -> Path:
    folder = Path(os.environ.get("MESHQ_TEST_ARTEFACTS", ROOT / "tmp" / "artefacts")) / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


#: The RBAC policy of the browser tests' gateway: the admin (its key, or a one-time link) may do
#: anything; a key in the ``Viewers`` group may only look at the map.
POLICY = """\
roles:
  viewer:
    resources: ["all_devices", "topology_edges", "device_neighbors", "subnets_on_device"]
    verbs: ["list", "execute"]
groups:
  "Viewers": {roles: [viewer]}
"""


@dataclass
class Gateway:
    url: str
    key: str
    keys_file: Path
    idp: OidcProvider

    def api(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.url}{path}",
            headers={"X-API-Key": self.key},
            json=body,
            timeout=60,
        )

    def sign_in_link(self) -> str:
        answer = self.api("POST", "/admin/ui-links")
        assert answer.status_code == 201, answer.text
        return str(answer.json()["url"])

    def named_key(self, name: str, *groups: str) -> str:
        from click.testing import CliRunner
        from network_discovery.cli.apikey import apikey

        args = ["create", name, "--file", str(self.keys_file)]
        for group in groups:
            args += ["--group", group]
        result = CliRunner().invoke(apikey, args)
        assert result.exit_code == 0, result.output
        return result.stdout.strip().splitlines()[0]


@pytest.fixture(scope="package")
def ui_gateway(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    missing = _missing()
    if missing:
        pytest.skip(missing)
    tmp = tmp_path_factory.mktemp("browser-gateway")
    policy = tmp / "rbac.yaml"
    policy.write_text(POLICY)
    # API keys and single sign-on at a local OpenID Connect provider, both
    idp = OidcProvider(user="ana@example.test", groups=["Viewers"])
    try:
        with keyed_demo_stack(
            stack,
            tmp,
            RBAC_POLICY_FILE=str(policy),
            AUTH_MODE="both",
            **idp.env(audience="api://meshq"),
        ) as (key, running):
            yield Gateway(
                url=running.gateway.url, key=key, keys_file=tmp / "api_keys.json", idp=idp
            )
    finally:
        idp.close()


@pytest.fixture(scope="package")
def browser(ui_gateway: Gateway) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
