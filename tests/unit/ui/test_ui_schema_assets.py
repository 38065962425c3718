"""The documentation pages under ``/schema`` load every script and style from the gateway itself
(packaged files): nothing from a CDN, so they work on an air-gapped network."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from meshq_query_gateway.app import create_app
from meshq_query_gateway.settings import Settings
from meshq_query_gateway.ui.schema_pages import ASSETS

KEY = "unit-admin-" + "k" * 32
PAGES = ["/schema", "/schema/redoc", "/schema/swagger", "/schema/elements", "/schema/rapidoc"]
_IMPORT = re.compile(r"""\bimport\b[^;]*?\bfrom\s*['"]([^'"]+)['"]""")
_ABSOLUTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)


class _Refs(HTMLParser):
    """Every URL a page loads: script src, link href, module imports, attributes naming a URL."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self._script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href", "spec-url", "apidescriptionurl", "data-spec"):
            if values.get(name):
                self.refs.append(str(values[name]))
        self._script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._script = False

    def handle_data(self, data: str) -> None:
        if self._script:
            self.refs.extend(_IMPORT.findall(data))


@pytest.fixture(scope="module")
def client() -> TestClient[Litestar]:
    return TestClient(create_app(Settings.model_validate({"API_KEY": KEY})))


@pytest.mark.parametrize("page", PAGES)
def test_every_script_and_style_of_a_page_comes_from_the_gateway(
    client: TestClient[Litestar],
    page: str,
) -> None:
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    parser = _Refs()
    parser.feed(response.text)
    assert parser.refs, "a page that loads nothing is not a documentation page"
    assert not [r for r in parser.refs if _ABSOLUTE.match(r)], parser.refs
    assert "cdn" not in response.text.lower() and "googleapis" not in response.text
    for ref in parser.refs:
        fetched = client.get(ref)
        assert fetched.status_code == 200, ref
        assert fetched.content, ref
        if ref.endswith(".js"):
            assert fetched.headers["content-type"].startswith("text/javascript"), ref
        elif ref.endswith(".css"):
            assert fetched.headers["content-type"].startswith("text/css"), ref
        elif ref.endswith(".json"):
            assert fetched.json()["openapi"].startswith("3.")


def test_the_assets_are_the_packaged_bundles(client: TestClient[Litestar]) -> None:
    swagger = client.get("/schema/assets/swagger-ui-bundle.js")
    assert b"SwaggerUIBundle" in swagger.content
    assert swagger.headers["cache-control"] == "public, max-age=86400"
    again = client.get(
        "/schema/assets/swagger-ui-bundle.js", headers={"If-None-Match": swagger.headers["etag"]}
    )
    assert again.status_code == 304 and not again.content
    redoc = client.get("/schema/assets/redoc.standalone.js").content
    assert b"export{" in redoc and b"init" in redoc  # an ES module: the page imports it
    assert set(ASSETS) >= {"swagger-ui.css", "elements.js", "elements.css", "rapidoc-min.js"}


@pytest.mark.parametrize(
    "name", ["settings.py", "..%2Fsettings.py", "%2E%2E%2F%2E%2E%2Fapp.py", "swagger-ui.js"]
)
def test_nothing_but_the_listed_files_is_served(
    client: TestClient[Litestar],
    name: str,
) -> None:
    response = client.get(f"/schema/assets/{name}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
