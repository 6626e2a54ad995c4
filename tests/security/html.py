"""What a browser would run in a page, found by parsing it: entities decoded, as the browser reads them."""

import re
from html.parser import HTMLParser

# Attributes a browser follows or loads as a URL.
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background"}
SAFE_SCHEMES = {"http", "https", "mailto"}
# Elements that embed another document or a script context of their own.
EMBEDDING_TAGS = {"iframe", "frame", "object", "embed", "svg", "math", "base"}
VOID_TAGS = set(
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"]
)
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
# What a browser's URL parser drops before it reads the scheme: leading controls and spaces, tabs and newlines.
_IGNORED_IN_URL = re.compile(r"[\t\n\r]")


def url_scheme(url: str) -> str:
    """The scheme a browser would give the URL; "" for a relative one."""
    cleaned = _IGNORED_IN_URL.sub("", url).lstrip("".join(chr(code) for code in range(0x21)))
    match = _SCHEME.match(cleaned)
    return match.group(1).lower() if match else ""


class PageScan(HTMLParser):
    """Every way the page could run script the site did not write, and the text of its datasheet."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.dangers: list[str] = []
        self.datasheet_text: list[str] = []
        self._datasheet_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag in EMBEDDING_TAGS or tag == "style":
            self.dangers.append(f"<{tag}>")
        source = values.get("src", "")
        if tag == "script" and (not source or url_scheme(source) or source.startswith("//")):
            self.dangers.append(f"<script> not from the site's own files: {values}")
        for name, value in values.items():
            if name.startswith("on"):
                self.dangers.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                self.dangers.append(f"<{tag} style={value!r}>")
            if name in URL_ATTRIBUTES and url_scheme(value) not in SAFE_SCHEMES | {""}:
                self.dangers.append(f"<{tag} {name}={value!r}>")
        if tag in VOID_TAGS:
            return
        if self._datasheet_depth or (tag == "article" and "datasheet" in values.get("class", "").split()):
            self._datasheet_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self._datasheet_depth:
            self._datasheet_depth -= 1

    def handle_data(self, data: str) -> None:
        if self._datasheet_depth:
            self.datasheet_text.append(data)


def scan(page: str) -> PageScan:
    scanner = PageScan()
    scanner.feed(page)
    scanner.close()
    return scanner
