"""The web page in a real browser: headless Chromium (Debian's ``chromium``, installed by
``.ci/run``) driven by Playwright. Opens the page, runs gunfire-on-protesters from its form,
checks the table rows and the map markers against the library, and saves a screenshot.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from kg import KnowledgeGraph

from .servers import KgServe

ARTIFACTS = Path(os.environ.get("KG_TEST_ARTIFACTS") or Path(__file__).resolve().parent.parent / "test-artifacts")


def chromium() -> str | None:
    return os.environ.get("KG_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    executable = chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it with apt-get")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = KgServe("--quiet", env={"KG_CACHE_DIR": str(tmp_path_factory.mktemp("browser-cache"))})
    yield s
    s.stop()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, java_script_enabled=True)
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield p
    context.close()
    assert errors == [], errors


def test_run_gunfire_on_protesters_from_the_form(server, page):
    want = KnowledgeGraph.load().query("gunfire-on-protesters", oblast="Kherson Oblast")
    page.goto(server.base + "/")
    page.get_by_role("link", name="gunfire-on-protesters").click()
    page.get_by_label("oblast").fill("Kherson Oblast")
    page.get_by_role("button", name="Run").click()
    page.wait_for_selector("table.results")

    rows = page.locator("table.results tbody tr")
    assert rows.count() == len(want) > 0
    assert [rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())] == \
        [r["townLabel"] for r in want]
    # One marker per event behind the rows, coloured as live fire, each a link to its event page.
    markers = page.locator("svg circle.marker")
    assert markers.count() == len(want)
    assert {markers.nth(i).get_attribute("data-category") for i in range(markers.count())} == {"live-fire"}

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "gunfire-on-protesters.png"), full_page=True)
    assert (ARTIFACTS / "gunfire-on-protesters.png").stat().st_size > 10_000


def test_tables_sort_by_keyboard(server, page):
    page.goto(server.base + "/queries/events")
    header = page.locator("table.results thead th").nth(1)  # date
    button = header.locator("button.sort")
    button.focus()
    page.keyboard.press("Enter")
    assert header.get_attribute("aria-sort") == "ascending"
    page.keyboard.press("Enter")
    assert header.get_attribute("aria-sort") == "descending"
    dates = page.locator("table.results tbody tr td:nth-child(2)").all_inner_texts()
    assert dates == sorted(dates, reverse=True) and len(dates) > 1


def test_ukrainian_page_and_event_page_from_a_marker(server, page):
    page.goto(server.base + "/?lang=uk")
    assert page.locator("html").get_attribute("lang") == "uk"
    assert page.get_by_role("heading", name="Мапа подій").count() == 1
    marker = page.locator("svg a.marker-link").first
    marker.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("table.facts")
    assert "/id/event/" in page.url and page.get_by_role("heading", name="Джерела").count() == 1
    page.screenshot(path=str(ARTIFACTS / "event-page-uk.png"), full_page=True)
