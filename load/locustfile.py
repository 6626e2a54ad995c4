"""The simulated users: visitors browsing and searching the catalog, API clients, and signed-in buyers.

Each user is one browser (or one API client): it pauses between pages as a person does, follows the links the
pages give it (the catalog's keyset "next" links, dataset cards, download links), and fetches what a browser
would fetch with a page: the static files once (then its cache has them), and the previews of the cards in
view. Requests are named by kind ("catalog", "search", "dataset page", ...), so the figures come per kind.

What the pages do not say (words to search for, the buyers' passwords and API tokens) comes from the JSON file
named by LOAD_SCENARIO, which `python -m load` writes after seeding the site (load/seed.py).
"""

import html
import json
import os
import random
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from locust import FastHttpUser, between, task
from locust.contrib.fasthttp import ResponseContextManager

SCENARIO: dict[str, Any] = json.loads(Path(os.environ["LOAD_SCENARIO"]).read_text())

CATALOG = "/datasets/"
API_CATALOG = "/api/v1/datasets/"
# The cards of the first rows are in view; the browser loads the other previews lazily, as they scroll in.
PREVIEWS_IN_VIEW = 6
# How many "next page" links a visitor follows before opening a dataset (from none to this many).
MAX_NEXT_PAGES = 4
DOWNLOAD_CHUNK_BYTES = 64 * 1024

STATIC_FILES = re.compile(r'(?:href|src)="(/static/[^"]+)"')
PREVIEWS = re.compile(r'<img src="(/datasets/[^"/]+/previews/[^"/]+\.jpg)"')
DATASET_PAGES = re.compile(r'<h3><a href="(/datasets/[^"/]+/)">')
NEXT_PAGE = re.compile(r'<a href="([^"]*)" rel="next">')
CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
LICENSE_PAGES = re.compile(r'href="(/account/licenses/[0-9a-f-]{36}/)"')
DOWNLOADS = re.compile(r'href="(/downloads/[^"]+)"')


def _search_words() -> str:
    """One or two words of a random catalog title: each word is searched about as often as titles hold it."""
    words = random.choice(SCENARIO["search_titles"]).lower().split()
    return " ".join(random.sample(words, k=min(len(words), random.choice((1, 1, 2)))))


class _Client(FastHttpUser):
    """A user whose every request names its kind to the server too (X-Load-Kind), for the server's figures."""

    abstract = True
    wait_time = between(1, 3)

    def send(
        self, method: str, url: str, *, name: str, headers: dict[str, str] | None = None, **options: Any
    ) -> Any:
        return self.client.request(
            method, url, name=name, headers={**(headers or {}), "X-Load-Kind": name}, **options
        )

    def get(self, url: str, *, name: str, **options: Any) -> Any:
        return self.send("GET", url, name=name, **options)


class _SiteVisitor(_Client):
    """A browser on the site, with the cache a browser keeps."""

    abstract = True

    def on_start(self) -> None:
        self.cached: set[str] = set()
        self.page("/", name="home")

    def page(self, url: str, *, name: str, previews: bool = True) -> str:
        """GET an HTML page and what a browser fetches with it; its text (empty when it failed)."""
        response = self.get(url, name=name)
        if not response.ok:
            return ""
        text = response.text or ""
        self._fetch_uncached(STATIC_FILES.findall(text), name="static file")
        if previews:
            self._fetch_uncached(PREVIEWS.findall(text)[:PREVIEWS_IN_VIEW], name="preview image")
        return text

    def _fetch_uncached(self, urls: list[str], *, name: str) -> None:
        for url in urls:
            if url not in self.cached:
                self.get(url, name=name)
                self.cached.add(url)

    def browse_catalog(self) -> None:
        """The catalog's first page, a few next pages, then a dataset."""
        text = self.page(CATALOG, name="catalog")
        for _ in range(random.randint(0, MAX_NEXT_PAGES)):
            following = NEXT_PAGE.search(text)
            if following is None:
                break
            self.wait()
            text = self.page(CATALOG + html.unescape(following.group(1)), name="catalog next page")
        self.open_a_dataset(text)

    def search_catalog(self) -> None:
        """A search, perhaps its next page, then one of the datasets found (a search may find none)."""
        text = self.page(f"{CATALOG}?{urlencode({'q': _search_words()})}", name="search")
        following = NEXT_PAGE.search(text)
        if following is not None and random.random() < 0.3:
            self.wait()
            text = self.page(CATALOG + html.unescape(following.group(1)), name="search next page")
        self.open_a_dataset(text)

    def open_a_dataset(self, listing: str) -> None:
        found = DATASET_PAGES.findall(listing)
        if found:
            self.wait()
            self.page(random.choice(found), name="dataset page")

    def download(self, url: str) -> None:
        """Stream a file and throw it away; timed to its last byte, as a download is."""
        started = time.perf_counter()
        response: ResponseContextManager
        with self.get(url, name="download", stream=True, catch_response=True) as response:
            received = sum(
                len(chunk)
                for chunk in response.iter_content(chunk_size=DOWNLOAD_CHUNK_BYTES, decode_content=False)
            )
            # Locust times a streamed response to its headers; the rest of the body is the download.
            response.request_meta["response_time"] = (time.perf_counter() - started) * 1000
            response.request_meta["response_length"] = received


class CatalogVisitor(_SiteVisitor):
    """Someone who has not signed in, browsing and searching the catalog."""

    weight = 6

    @task(3)
    def browse(self) -> None:
        self.browse_catalog()

    @task(2)
    def search(self) -> None:
        self.search_catalog()


class Buyer(CatalogVisitor):
    """A signed-in buyer with a license: browses too, and downloads its files from the page and the API."""

    weight = 2

    def on_start(self) -> None:
        super().on_start()
        account = random.choice(SCENARIO["buyers"])
        self.api_headers = {"Authorization": f"Token {account['api_token']}"}
        form = self.page("/account/login/", name="sign-in page", previews=False)
        csrf = CSRF_TOKEN.search(form)
        if csrf is None:
            raise RuntimeError("the sign-in page has no CSRF token")
        self.send(
            "POST",
            "/account/login/",
            name="sign in",
            data=urlencode(
                {
                    "csrfmiddlewaretoken": csrf.group(1),
                    "username": account["email"],
                    "password": account["password"],
                }
            ),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"{self.host}/account/login/",
            },
        )

    @task(2)
    def download_from_license_page(self) -> None:
        licenses = self.page("/account/licenses/", name="licenses page")
        found = LICENSE_PAGES.findall(licenses)
        if not found:
            return
        self.wait()
        links = DOWNLOADS.findall(self.page(random.choice(found), name="license page"))
        for link in random.sample(links, k=min(len(links), 2)):
            self.download(html.unescape(link))

    @task(2)
    def download_through_the_api(self) -> None:
        grants = self.get("/api/v1/licenses/", name="api licenses", headers=self.api_headers)
        if not grants.ok or not grants.json():
            return
        grant = random.choice(grants.json())
        files = self.get(
            f"/api/v1/licenses/{grant['id']}/files/", name="api license files", headers=self.api_headers
        )
        if files.ok:
            for file in random.sample(files.json(), k=min(len(files.json()), 2)):
                self.download(file["url"])


class ApiClient(_Client):
    """A program reading the catalog through the API, anonymously: pages by cursor, searches, details."""

    weight = 2

    def _catalog(self, params: dict[str, str], *, name: str) -> dict[str, Any]:
        response = self.get(f"{API_CATALOG}?{urlencode(params)}", name=name)
        return response.json() if response.ok else {"results": [], "next_cursor": None}

    @task(3)
    def browse(self) -> None:
        page = self._catalog({}, name="api catalog")
        for _ in range(random.randint(0, MAX_NEXT_PAGES)):
            if not page["next_cursor"]:
                break
            self.wait()
            page = self._catalog({"cursor": page["next_cursor"]}, name="api catalog next page")
        self._open_a_dataset(page)

    @task(2)
    def search(self) -> None:
        self._open_a_dataset(self._catalog({"q": _search_words()}, name="api search"))

    def _open_a_dataset(self, page: dict[str, Any]) -> None:
        if page["results"]:
            self.wait()
            self.get(f"{API_CATALOG}{random.choice(page['results'])['slug']}/", name="api dataset")
