"""Stored XSS: a dataset description is Markdown a curator writes, shown to every visitor of the public page.

Each attack is saved through the curation form, the version's bundle is built (its DATASHEET.md carries the
description) and the public page is fetched anonymously: parsed as a browser would read it, nothing in it may
run script the site did not write.
"""

import pytest
from playwright.sync_api import expect

from tests.security.html import scan

pytestmark = pytest.mark.django_db

MARKER = "Street scenes from European cities."
ATTACKS = {
    "entity-encoded colon": "[x](javascript&#58;alert(1))",
    "mixed-case scheme": "[x](JaVaScRiPt:alert(1))",
    "entity-encoded letter": "[x](&#106;avascript:alert(document.cookie))",
    "raw script": "<script>alert(1)</script>",
    "image error handler": "<img src=x onerror=alert(1)>",
    "data URL link": '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "data URL in markdown": "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "svg load handler": "<svg onload=alert(1)>",
    "iframe": '<iframe src="javascript:alert(1)"></iframe>',
    "autolink": "<javascript:alert(1)>",
    "tab inside the scheme": "[x](java\tscript:alert(1))",
}


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_a_stored_attack_in_a_description_runs_nothing_on_the_public_page(
    client, published_with_description, attack
):
    published_with_description(f"{MARKER}\n\n{attack}")

    response = client.get("/datasets/street-scenes/")

    assert response.status_code == 200
    page = scan(response.content.decode())
    assert MARKER in "".join(page.datasheet_text), "the description did not reach the datasheet"
    assert page.dangers == []


def test_an_ordinary_link_in_a_description_still_works_without_vouching_for_it(
    client, published_with_description
):
    published_with_description(
        f"{MARKER} See [the project](https://example.org/streets) or [write](mailto:a@example.org)."
    )

    page = client.get("/datasets/street-scenes/").content.decode()

    assert '<a href="https://example.org/streets" rel="nofollow noopener noreferrer">the project</a>' in page
    assert '<a href="mailto:a@example.org" rel="nofollow noopener noreferrer">write</a>' in page


CLICK_EVERY_LINK_NOT_TO_THE_WEB = """sheet => {
  const links = [...sheet.querySelectorAll("a")].filter(
    (link) => !link.hasAttribute("href") || !["http:", "https:", "mailto:"].includes(link.protocol)
  );
  links.forEach((link) => link.click());
  return links.length;
}"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_visitor_opening_a_page_with_every_stored_attack_sees_no_dialog_and_no_policy_violation(
    page, browser, published_with_description
):
    published_with_description("\n\n".join([MARKER, *ATTACKS.values()]))
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto("/datasets/street-scenes/")
    datasheet = page.locator("article.datasheet")
    expect(datasheet).to_contain_text(MARKER)
    # Every link that would not just open a web page or a mail: a javascript: link would run (or be refused) now.
    clicked = datasheet.evaluate(CLICK_EVERY_LINK_NOT_TO_THE_WEB)
    page.wait_for_load_state()
    page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 200))")  # a navigation's task has run

    assert clicked == 4  # the four Markdown links to javascript: or data:, left with no href
    assert dialogs == []
    assert browser.violations == []
    assert page.url.endswith("/datasets/street-scenes/")
