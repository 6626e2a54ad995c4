"""Markdown written by curators and creators, rendered as HTML a page may show.

Every page that shows user Markdown renders it through `markdown_to_safe_html`. The HTML Markdown produces is
passed through nh3 (the Ammonia sanitizer), which parses it as a browser would, entities decoded, and keeps only
the tags, attributes and link schemes listed here: a check of the Markdown source cannot tell that
`javascript&#58;` is `javascript:`, a parser of the HTML can.
"""

import markdown
import nh3
from markdown.extensions.tables import TableExtension

ALLOWED_TAGS = {
    *(f"h{level}" for level in range(1, 7)),
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "b",
    "i",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
# A table column's alignment, as an attribute: the `style` Markdown would write is refused by the pages' CSP.
ALIGNMENTS = {"align": {"left", "center", "right"}}
LINK_SCHEMES = {"http", "https", "mailto"}

_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    # What is inside these is never text a reader should see, so it goes with the tag.
    clean_content_tags={"script", "style", "iframe", "object", "embed", "svg", "math", "template"},
    attributes=ALLOWED_ATTRIBUTES,
    tag_attribute_values={"th": ALIGNMENTS, "td": ALIGNMENTS},
    url_schemes=LINK_SCHEMES,
    # The words are the writer's, not ours: search engines are not told we vouch for where they link.
    link_rel="nofollow noopener noreferrer",
)


def markdown_to_safe_html(text: str) -> str:
    """Markdown as HTML holding only allow-listed tags, attributes and link schemes; raw HTML shows as text."""
    renderer = markdown.Markdown(extensions=[TableExtension(use_align_attribute=True)], output_format="html")
    # Raw HTML in the text is shown as the writer typed it, not dropped: a datasheet may well mention `<video>`.
    renderer.preprocessors.deregister("html_block")
    renderer.inlinePatterns.deregister("html")
    return _cleaner.clean(renderer.convert(text))
