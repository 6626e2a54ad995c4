"""Steps and checks the browser tests share: logging in, confirming a sign-up, drawing a signature, keyboard use, labels, phone width."""

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from playwright.sync_api import Locator, Page, ViewportSize

from marketplace.models import User

if TYPE_CHECKING:
    from tests.conftest import WorkerProcess

# Real camera photos (JPEG and HEIC), kept beside the project rather than in it.
CAMERA_CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "camera-samples"
# A phone's viewport: the width a page must fit without scrolling sideways.
PHONE_VIEWPORT: ViewportSize = {"width": 390, "height": 844}


def log_in(page: Page, user: User, password: str) -> None:
    """Through the login page, as the person would."""
    page.goto("/account/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def open_the_emailed_sign_up_link(page: Page, worker: "WorkerProcess", email: str) -> None:
    """Read the sign-up email the worker sent to `email` and open its confirmation link, as the person would."""
    worker.wait_for(lambda: any(f"To: {email}" in mail for mail in worker.sent_emails()))
    mail = next(mail for mail in worker.sent_emails() if f"To: {email}" in mail)
    page.goto(re.search(r"https?://[^/\s]+(/account/signup/confirm/\S+/)", mail).group(1))


def open_from_the_menu(page: Page, name: str) -> None:
    """Follow a link of the site's main navigation; a page's own text may link to the same place too."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def draw_signature(page: Page, pad_input: str) -> None:
    """A signature drawn with the mouse on the pad whose hidden input is `pad_input`: press, strokes, release."""
    canvas = page.locator("[data-signature-pad]", has=page.locator(f"input[name={pad_input}]")).locator(
        "canvas"
    )
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + 0.1 * w, y + 0.7 * h)
    page.mouse.down()
    for fx, fy in [(0.25, 0.25), (0.4, 0.75), (0.55, 0.3), (0.7, 0.7), (0.9, 0.35)]:
        page.mouse.move(x + fx * w, y + fy * h, steps=8)
    page.mouse.up()


def fill_in_the_release_as_the_model(page: Page) -> None:
    """The model's part of the signing page: who she is, her signature and a witness's."""
    page.get_by_label("Your full name").fill("Maria Model")
    page.get_by_label("Date of birth").fill("1994-02-11")
    page.get_by_label("Postal address").fill("1 Rua Augusta, Lisboa")
    draw_signature(page, "signature")
    page.get_by_label("Witness's full name").fill("Wendy Witness")
    draw_signature(page, "witness_signature")


def tab_to(page: Page, target: Locator, *, max_presses: int = 80) -> None:
    """Press Tab until `target` has the focus, proving a keyboard user can reach it; fails if it never does."""
    for _ in range(max_presses):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} is not reached with Tab in {max_presses} presses")


def press_with_keyboard(page: Page, button: Locator) -> None:
    """Tab to a button from wherever the focus is, and press Enter on it."""
    tab_to(page, button)
    page.keyboard.press("Enter")


# Fields a person can see and fill; hidden inputs carry data only. A visually hidden file input counts: a
# screen reader still announces it.
_FIELDS = "input:not([type=hidden]), select, textarea"


def assert_every_field_is_labelled(page: Page) -> None:
    """Every visible input, select and textarea has an accessible name (a label, aria-label or labelledby)."""
    unnamed = []
    for field in page.locator(_FIELDS).all():
        if not field.is_visible() and field.get_attribute("type") != "file":
            continue
        if not field.evaluate(_HAS_ACCESSIBLE_NAME):
            unnamed.append(field.evaluate("element => element.outerHTML.slice(0, 160)"))
    assert not unnamed, f"fields without a label on {page.url}:\n" + "\n".join(unnamed)


# The name sources of the accessible name computation that a form field can have; a placeholder or a title is
# a hint, not a name, and is not accepted here.
_HAS_ACCESSIBLE_NAME = """element => {
  const text = (node) => (node ? node.textContent.trim() : "");
  const labelledBy = (element.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean);
  return Boolean(
    (element.getAttribute("aria-label") || "").trim()
    || labelledBy.some((id) => text(document.getElementById(id)))
    || Array.from(element.labels || []).some((label) => text(label))
  );
}"""


def assert_fits_the_width(page: Page) -> None:
    """The page does not scroll sideways: nothing is wider than the window."""
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url} is {widths[0]} px wide in a {widths[1]} px window"


def check_page(page: Page, screenshot: Callable[[Page, str], Path], step: str) -> None:
    """What every page of a journey gets: a screenshot to look at, and a check that its fields are labelled."""
    screenshot(page, step)
    assert_every_field_is_labelled(page)


def check_page_on_a_phone(page: Page, screenshot: Callable[[Page, str], Path], step: str) -> None:
    """The same page in a phone-sized window, screenshot and checked for width; the window is put back after."""
    desktop = page.viewport_size
    assert desktop is not None
    page.set_viewport_size(PHONE_VIEWPORT)
    try:
        screenshot(page, f"{step}-phone")
        assert_fits_the_width(page)
    finally:
        page.set_viewport_size(desktop)
