"""Browser tests: Playwright driving Debian's Chromium against a live server.

Screenshots go to var/screenshots/ (SCREENSHOT_DIR overrides it), so a person can look at every page a test
passed through. Every browser context a test opens is watched for Content-Security-Policy violations: a page
that tries to run or style anything the policy refuses fails the test, even where it still looks right.
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

SCREENSHOT_DIR = Path(
    os.environ.get("SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "var" / "screenshots")
)

# Reports each violation to the test, through a binding that outlives the page's navigations.
CSP_WATCH_SCRIPT = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportCspViolation(
    `${event.effectiveDirective} refused ${event.blockedURI || "inline"} on ${event.documentURI}` +
      (event.sample ? `: ${event.sample}` : "")
  );
});
"""


class CspWatchedBrowser:
    """The browser, with every context it opens reporting Content-Security-Policy violations to `violations`."""

    def __init__(self, browser) -> None:
        self._browser = browser
        self.violations: list[str] = []

    def __getattr__(self, name: str):
        return getattr(self._browser, name)

    def new_context(self, **options):
        context = self._browser.new_context(**options)
        context.expose_binding("__reportCspViolation", lambda source, text: self.violations.append(text))
        context.add_init_script(CSP_WATCH_SCRIPT)
        # Chromium also logs each refusal to the console, including those no document event reports.
        context.on("console", self._console)
        return context

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(f"console: {message.text}")


@pytest.fixture
def browser(chromium) -> Iterator[CspWatchedBrowser]:
    watched = CspWatchedBrowser(chromium)
    yield watched
    if watched.violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(dict.fromkeys(watched.violations)))


@pytest.fixture
def page(browser, live_server) -> Iterator:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone_page(browser, live_server) -> Iterator:
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(request):
    """Save a full-page screenshot named after the test and a step."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    test_name = re.sub(r"[^\w-]+", "_", request.node.name)

    def take(page, step: str) -> Path:
        path = SCREENSHOT_DIR / f"{test_name}--{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def pytest_terminal_summary(terminalreporter) -> None:
    if SCREENSHOT_DIR.exists() and any(SCREENSHOT_DIR.glob("*.png")):
        terminalreporter.write_line(f"Browser screenshots: {SCREENSHOT_DIR}")
