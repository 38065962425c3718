"""The PDF renderer on its own: Debian's Chromium prints a page, and is held to its limits."""

from __future__ import annotations

import io
import shutil

import pytest
from meshq_graph_engine.compliance.pdf import (
    PdfError,
    PdfUnavailable,
    chromium_path,
    pdf_timeout,
    render_pdf,
)
from pypdf import PdfReader

chromium = pytest.mark.skipif(shutil.which("chromium") is None, reason="no chromium")
PAGE = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
    "<h1>Compliance report</h1><p>rule ios-ssh-v2 on d1 &lt;fail&gt; Zürich</p>"
    "<img src='http://example.invalid/x.png'></body></html>"
)


@chromium
async def test_a_page_is_printed() -> None:
    data = await render_pdf(PAGE, timeout=60)
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "Compliance report" in text and "ios-ssh-v2 on d1 <fail> Zürich" in text


@chromium
async def test_past_the_time_limit_the_render_is_killed() -> None:
    with pytest.raises(PdfError, match=r"within 0\.05 s"):
        await render_pdf(PAGE, timeout=0.05)


@chromium
async def test_a_pdf_over_the_size_limit_is_refused() -> None:
    with pytest.raises(PdfError, match="larger than 1000 bytes"):
        await render_pdf(PAGE, timeout=60, max_bytes=1000)


def test_a_named_chromium_that_is_not_there() -> None:
    with pytest.raises(PdfUnavailable, match="MESHQ_CHROMIUM"):
        chromium_path({"MESHQ_CHROMIUM": "/nonexistent/chromium"})


@pytest.mark.parametrize(("value", "message"), [("soon", "not a number"), ("1", "between")])
def test_a_bad_timeout_names_the_variable(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"MESHQ_COMPLIANCE_PDF_TIMEOUT: {message}"):
        pdf_timeout({"MESHQ_COMPLIANCE_PDF_TIMEOUT": value})
    assert pdf_timeout({}) == 120.0
