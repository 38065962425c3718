"""The pages under ``/schema`` from packaged files: no CDN, so they work on an air-gapped network.

Swagger UI, Redoc, Stoplight Elements and RapiDoc come as files inside maintained PyPI
packages (``flask-openapi-swagger``, ``-redoc``, ``-elements``, ``-rapidoc``; their
``__init__`` import nothing, so Flask is never loaded). The gateway serves those files itself
under ``/schema/assets/<name>``, from a fixed list: nothing else on disk can be named.
"""

from __future__ import annotations

import html
import importlib.metadata
import importlib.resources
from collections.abc import Sequence
from functools import cache
from typing import Any

from litestar import Request, Response, get
from litestar.openapi.plugins import (
    OpenAPIRenderPlugin,
    StoplightRenderPlugin,
    SwaggerRenderPlugin,
)
from litestar.params import FromPath
from litestar.router import Router
from meshq_runtime.http import ProblemError

__all__ = ["ASSETS", "ASSET_PREFIX", "asset", "schema_pages"]

#: Where the files are served (public, like the rest of ``/schema``).
ASSET_PREFIX = "/schema/assets"

_JS = "text/javascript"
_CSS = "text/css"
_SVG = "image/svg+xml"

#: name -> (import package, file inside it, media type). Nothing outside this table is served.
ASSETS: dict[str, tuple[str, str, str]] = {
    "swagger-ui-bundle.js": (
        "flask_openapi_swagger",
        "templates/swagger/js/swagger-ui-bundle.js",
        _JS,
    ),
    "swagger-ui-standalone-preset.js": (
        "flask_openapi_swagger",
        "templates/swagger/js/swagger-ui-standalone-preset.js",
        _JS,
    ),
    "swagger-ui.css": ("flask_openapi_swagger", "templates/swagger/css/swagger-ui.css", _CSS),
    "redoc.standalone.js": (
        "flask_openapi_redoc",
        "templates/redoc/js/redoc.standalone.js",
        _JS,
    ),
    "elements.js": ("flask_openapi_elements", "templates/elements/js/web-components.min.js", _JS),
    "elements.css": ("flask_openapi_elements", "templates/elements/css/styles.min.css", _CSS),
    "rapidoc-min.js": ("flask_openapi_rapidoc", "templates/rapidoc/js/rapidoc-min.js", _JS),
    "favicon.svg": ("meshq_query_gateway.ui", "static/favicon.svg", _SVG),
}

_DISTRIBUTIONS = {
    "flask_openapi_swagger": "flask-openapi-swagger",
    "flask_openapi_redoc": "flask-openapi-redoc",
    "flask_openapi_elements": "flask-openapi-elements",
    "flask_openapi_rapidoc": "flask-openapi-rapidoc",
    "meshq_query_gateway.ui": "meshq-query-gateway",
}

_FAVICON = f"<link rel='icon' type='image/svg+xml' href='{ASSET_PREFIX}/favicon.svg'>"


@cache
def asset(name: str) -> tuple[bytes, str, str]:
    """(content, media type, ETag) of a listed file; KeyError for any other name."""
    package, path, media_type = ASSETS[name]
    content = importlib.resources.files(package).joinpath(path).read_bytes()
    version = importlib.metadata.version(_DISTRIBUTIONS[package])
    return content, media_type, f'"{package}-{version}"'


@get("/assets/{name:str}", include_in_schema=False, sync_to_thread=False, cache_control=None)
def serve_asset(request: Request[Any, Any, Any], name: FromPath[str]) -> Response[bytes]:
    if name not in ASSETS:
        raise ProblemError(404, "Not found", "no such documentation asset", field="name")
    content, media_type, etag = asset(name)
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=86400",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(b"", status_code=304, headers=headers)
    return Response(content, media_type=media_type, headers=headers)


def _page(
    plugin: OpenAPIRenderPlugin,
    request: Request[Any, Any, Any],
    openapi_schema: dict[str, Any],
    head: str,
    body: str,
) -> bytes:
    """A docs page of ``plugin``: its title, icon and style, ``head`` in the head and
    ``body`` (where ``{spec}`` is the document's URL, escaped) in the body."""
    title = html.escape(str(openapi_schema.get("info", {}).get("title", "API")))
    spec = html.escape(plugin.get_openapi_json_route(request), quote=True)
    return (
        "<!DOCTYPE html><html lang='en'><head>"
        f"<title>{title}</title>{plugin.favicon}<meta charset='utf-8'/>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"{head}{plugin.style}</head><body>{body.replace('{spec}', spec)}</body></html>"
    ).encode()


class RedocPage(OpenAPIRenderPlugin):
    """Redoc 3 (an ES module), loading the document from ``/schema/openapi.json``; it also
    registers the asset route on the ``/schema`` router."""

    def __init__(self, *, path: str | Sequence[str] = "/redoc") -> None:
        super().__init__(path=path, favicon=_FAVICON)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return _page(
            self,
            request,
            openapi_schema,
            "",
            "<div id='redoc-container' data-spec='{spec}'></div><script type='module'>"
            f"import {{ init }} from '{ASSET_PREFIX}/redoc.standalone.js';"
            "const el = document.getElementById('redoc-container');"
            "init(el.dataset.spec, {}, el);</script>",
        )

    def receive_router(self, router: Router) -> None:
        router.register(serve_asset)


class RapidocPage(OpenAPIRenderPlugin):
    """RapiDoc 11 (an ES module), loading the document from ``/schema/openapi.json``."""

    def __init__(self, *, path: str | Sequence[str] = "/rapidoc") -> None:
        super().__init__(path=path, favicon=_FAVICON)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return _page(
            self,
            request,
            openapi_schema,
            f"<script type='module' src='{ASSET_PREFIX}/rapidoc-min.js'></script>",
            "<rapi-doc spec-url='{spec}'></rapi-doc>",
        )


def schema_pages() -> list[OpenAPIRenderPlugin]:
    """The documentation pages, every script and style from :data:`ASSET_PREFIX` (Redoc first:
    it answers ``/schema`` itself)."""
    return [
        RedocPage(),
        SwaggerRenderPlugin(
            js_url=f"{ASSET_PREFIX}/swagger-ui-bundle.js",
            css_url=f"{ASSET_PREFIX}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSET_PREFIX}/swagger-ui-standalone-preset.js",
            favicon=_FAVICON,
        ),
        StoplightRenderPlugin(
            js_url=f"{ASSET_PREFIX}/elements.js",
            css_url=f"{ASSET_PREFIX}/elements.css",
            favicon=_FAVICON,
        ),
        RapidocPage(),
    ]
