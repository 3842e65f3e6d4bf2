"""The HTML report in a real headless browser: filters, search, a case opened, a hostile answer,
a screenshot, and no request leaving the page.

Playwright drives Debian's ``chromium`` (``/usr/bin/chromium``), never a browser build of its own:
the first test of a session installs it with ``scripts/install-browser.sh`` when it is missing, and
errors with the script's message when it cannot.
"""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, sync_playwright

from arcanos_eval.report import evaluate
from arcanos_eval.report.html import render_html
from arcanos_eval.runlog import read_run_log
from tests.report.test_html import CASES, HOSTILE, write_log

ROOT = Path(__file__).parents[2]
CHROMIUM = Path("/usr/bin/chromium")
INSTALLER = ROOT / "scripts" / "install-browser.sh"


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not os.access(CHROMIUM, os.X_OK):
        done = subprocess.run(["bash", str(INSTALLER)], capture_output=True, text=True)
        if done.returncode != 0 or not os.access(CHROMIUM, os.X_OK):
            pytest.fail(
                f"{INSTALLER.relative_to(ROOT)} could not install {CHROMIUM} "
                f"(exit {done.returncode}):\n{done.stderr}{done.stdout}",
                pytrace=False,
            )
    return CHROMIUM


# Module scope, not session: while Playwright's sync API runs, its event loop is the thread's
# running loop, and every later test calling asyncio.run (the engine) would fail.
@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium))
        yield launched
        launched.close()


def _write_page(folder: Path, cases: list[tuple[str, str, str, str, object, object]]) -> Path:
    log = write_log(folder / "run.jsonl", cases)  # type: ignore[arg-type]
    page = folder / "report.html"
    page.write_text(render_html(evaluate(read_run_log(log))), encoding="utf-8")
    return page


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_page(tmp_path_factory.mktemp("html"), CASES)  # type: ignore[arg-type]


@dataclass
class Visit:
    """A page on the report, with every request it tried and every error it logged."""

    page: Page
    url: str = ""
    requests: list[str] = field(default_factory=list)  # every request but the report's own
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions

    def open(self, path: Path) -> Visit:
        """Load ``path`` afresh (a new document: filters reset, no case open)."""
        self.url = path.as_uri()
        self.requests.clear()
        self.errors.clear()
        self.page.goto(self.url)
        return self

    def count(self) -> str:
        return self.page.inner_text("#case-count")

    def keys(self) -> list[str]:
        keys: list[str] = self.page.eval_on_selector_all(
            "#case-list details.case", "rows => rows.map(r => r.dataset.key)"
        )
        return keys

    def open_case(self, key: str) -> None:
        self.page.locator(f'details.case[data-key="{key}"] > summary').click()

    def assert_quiet(self) -> None:
        """Nothing was requested, logged as an error or alerted."""
        assert self.requests == []
        assert self.errors == []
        assert self.page.evaluate("window.alerts") == []


def _tab(browser: Browser, *, bypass_csp: bool = False) -> Iterator[Visit]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=bypass_csp)
    context.set_default_timeout(5_000)  # a local page: a missing element is a failure, fast
    visit = Visit(context.new_page())

    def route(route: Route) -> None:
        if route.request.url == visit.url:
            route.continue_()
        else:
            visit.requests.append(route.request.url)
            route.abort()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            visit.errors.append(message.text)

    visit.page.route("**/*", route)
    # A request the policy blocks never reaches the route, but the browser still reports it.
    visit.page.on("request", lambda r: r.url == visit.url or visit.requests.append(r.url))
    visit.page.on("console", console)
    visit.page.on("pageerror", lambda exc: visit.errors.append(str(exc)))
    visit.page.add_init_script(
        "window.alerts = []; window.alert = m => window.alerts.push(String(m));"
    )
    yield visit
    context.close()


@pytest.fixture(scope="module")
def tab(browser: Browser) -> Iterator[Visit]:
    """One browser tab for the module's tests: each loads its page afresh."""
    yield from _tab(browser)


@pytest.fixture
def visit(tab: Visit, report: Path) -> Iterator[Visit]:
    """The report loaded; afterwards nothing may have been requested, logged as an error or
    alerted."""
    yield tab.open(report)
    tab.assert_quiet()


def test_the_page_loads_offline_under_its_policy(visit):
    # The report's own script ran under the policy (its hash matches): it filled the browser.
    assert visit.count() == "8 of 8 cases shown"
    assert len(visit.keys()) == 8
    assert visit.page.inner_text(".verdict .word") == "HOLD"
    assert visit.page.locator("svg.chart").count() == 2


def test_the_page_requests_nothing_even_without_its_policy(browser, report):
    # With the policy bypassed, any reference the page made (an image, a font, a script) would
    # reach the route: there is none.
    for bare in _tab(browser, bypass_csp=True):
        bare.open(report)
        bare.page.locator("#filter-outcome").select_option("regressed")
        bare.open_case("puzzles::riddle-echo")
        bare.assert_quiet()


def test_the_policy_blocks_a_request_the_page_would_make(visit):
    visit.page.evaluate(
        """() => {
            const image = new Image();
            image.src = "http://127.0.0.1:9/pixel.png";
            document.body.appendChild(image);
            return fetch("http://127.0.0.1:9/data").catch(() => null);
        }"""
    )
    assert visit.requests in ([], ["http://127.0.0.1:9/pixel.png"])  # blocked before the route
    assert any("Content Security Policy" in e for e in visit.errors)
    visit.requests.clear()
    visit.errors.clear()


def test_filters_show_the_cases_of_a_suite_category_and_outcome(visit):
    page = visit.page
    page.locator("#filter-outcome").select_option("regressed")
    assert visit.count() == "2 of 8 cases shown"
    assert visit.keys() == ["puzzles::riddle-echo", "safety::injection-admin"]
    page.locator("#filter-suite").select_option("safety")
    assert visit.keys() == ["safety::injection-admin"]
    page.locator("#filter-outcome").select_option("")
    assert visit.count() == "3 of 8 cases shown"
    page.locator("#filter-suite").select_option("")
    page.locator("#filter-category").select_option("multi_intent")
    assert visit.keys() == ["puzzles::reset-and-raid"]
    page.locator("#filter-category").select_option("")
    for outcome, keys in (
        ("fixed", ["puzzles::logic-bridge", "safety::hostile-markup"]),
        ("both_fail", ["puzzles::reset-and-raid"]),
        ("both_pass", ["puzzles::riddle-sphinx", "safety::doxx-player"]),
        ("errored", ["puzzles::broken-lever"]),
    ):
        page.locator("#filter-outcome").select_option(outcome)
        assert visit.keys() == keys, outcome
    page.locator("#filter-reset").click()
    assert visit.count() == "8 of 8 cases shown"


def test_search_finds_case_ids_inputs_and_answers(visit):
    search = visit.page.locator("#filter-search")
    for query, keys in (
        ("GRIMWALD", ["safety::injection-admin"]),  # the candidate's answer, any case
        ("bridge at night", ["puzzles::logic-bridge"]),  # the input
        ("riddle-", ["puzzles::riddle-echo", "puzzles::riddle-sphinx"]),  # the case id
        ("about an echo", ["puzzles::riddle-echo"]),  # the base's answer
        ("nowhere in the run", []),
    ):
        search.fill(query)
        assert visit.keys() == keys, query
        assert visit.count() == f"{len(keys)} of 8 cases shown"
    search.fill("riddle")
    visit.page.locator("#filter-outcome").select_option("regressed")
    assert visit.keys() == ["puzzles::riddle-echo"]


def test_an_opened_case_shows_both_answers_the_diff_and_each_checks_reason(visit):
    visit.open_case("puzzles::riddle-echo")
    case = visit.page.locator('details.case[data-key="puzzles::riddle-echo"]')
    assert case.locator("pre.input").inner_text() == "What answers without a mouth?"
    assert case.locator("pre.answer").all_inner_texts() == [
        "a riddle about an echo",
        "a cipher, probably",
    ]
    diff = case.locator("pre.diff").inner_text()
    assert "-a riddle about an echo" in diff and "+a cipher, probably" in diff
    rows = [
        [cell.strip() for cell in row.split("\t")]
        for row in case.locator("table.checks tbody tr").all_inner_texts()
    ]
    assert rows == [
        ["contains", "pass", "1.00", "the answer names what was asked"],
        ["length", "pass", "1.00", "short enough"],
        ["contains", "fail", "0.00", "expected the topic, found 'a cipher, probably'"],
        ["length", "pass", "1.00", "short enough"],
    ]
    assert case.locator(".side-candidate .why").inner_text() == (
        "contains: expected the topic, found 'a cipher, probably'"
    )
    visit.page.locator("#filter-search").fill("sphinx")  # filtering rebuilds the list
    visit.page.locator("#filter-search").fill("")
    assert visit.page.locator("details.case[open]").count() == 0


def test_a_hostile_answer_is_text_in_the_page(visit):
    visit.open_case("safety::hostile-markup")
    case = visit.page.locator('details.case[data-key="safety::hostile-markup"]')
    answers = case.locator("pre.answer").evaluate_all("nodes => nodes.map(n => n.textContent)")
    assert answers == ["Sure: <b>bold</b>", HOSTILE]
    page = visit.page
    assert page.evaluate("document.scripts.length") == 2
    assert page.locator("img, b, iframe, object, embed").count() == 0
    assert page.title().startswith("Release report: candidate vs base")


def test_more_cases_than_a_page_shows_come_in_steps(tab, tmp_path):
    many = [
        ("bulk", f"case-{i:03d}", "happy_path", f"question {i}", ("yes", True), ("yes", True))
        for i in range(230)
    ]
    tab.open(_write_page(tmp_path, many))  # type: ignore[arg-type]
    assert tab.count() == "230 of 230 cases shown"
    assert len(tab.keys()) == 100
    more = tab.page.locator("#case-more")
    assert more.inner_text() == "Show 100 more (130 not shown)"
    more.click()
    more.click()
    assert len(tab.keys()) == 230 and more.is_hidden()
    tab.page.locator("#filter-search").fill("case-22")
    assert tab.keys() == [f"bulk::case-22{i}" for i in range(10)]
    tab.assert_quiet()


def test_a_screenshot_renders(visit, tmp_path):
    visit.open_case("puzzles::riddle-echo")
    png = visit.page.screenshot(full_page=True)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.width == 1280 and image.height > 900
    colours = image.getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 50  # text, badges, bars: not a blank page
    # The verdict banner is red for HOLD: the stylesheet applied under the policy.
    x, y = visit.page.evaluate(
        """() => {
            const box = document.querySelector(".verdict").getBoundingClientRect();
            return [box.left + box.width / 2 + scrollX, box.top + 4 + scrollY];
        }"""
    )  # the middle of its top padding, in the page's coordinates like the full-page shot
    inside = (int(x), int(y))
    red, green, blue = image.getpixel(inside)  # type: ignore[misc]
    assert red > green and red > blue
