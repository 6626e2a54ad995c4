"""A live marketplace with a bundle bought by a buyer, the `datamarket` client run as a user runs it, and a
proxy in front of the site that can slow downloads and answer Range requests as S3 or nginx do."""

import http.client
import io
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from datasets import build, services
from datasets.models import BundleFile, Dataset, DatasetVersion, Offer
from licensing.models import LicenseTerms
from marketplace.services import orders
from marketplace.services.accounts import api_token_create
from tests.datasets.conftest import store_sellable
from tests.factories import BuyerFactory

SLUG = "harbour-nights"


def noisy_photo(seed: int, size: tuple[int, int] = (900, 700)) -> bytes:
    """A JPEG of random pixels: it barely compresses, so a few of them make a shard of several MB."""
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def one_error_line(stderr: str) -> str:
    """The single line an error must be, with no traceback."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("datamarket: error: ")
    return lines[0]


@dataclass
class Market:
    url: str
    token: str
    license_id: str
    version: DatasetVersion
    home: Path

    @property
    def bundle_name(self) -> str:
        return f"{SLUG}-v{self.version.number}"

    def stored_files(self) -> dict[str, bytes]:
        """Each bundle file as the site stores it, by its path in the bundle."""
        files = {}
        for file in BundleFile.objects.filter(version=self.version):
            with default_storage.open(file.storage_name, "rb") as stream:
                files[file.path] = stream.read()
        return files

    def env(self, site: str | None = None, token: str | None = None) -> dict[str, str]:
        """A user's environment: a home of the test's own, and the site and token to use."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("DATAMARKET_")}
        env.update(HOME=str(self.home), XDG_CONFIG_HOME=str(self.home / ".config"))
        env["DATAMARKET_SITE"] = site or self.url
        if token is not None:
            env["DATAMARKET_TOKEN"] = token
        return env

    def run(
        self, *args: str, site: str | None = None, token: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """`datamarket ARGS` in a process of its own, logged in with the buyer's token unless told otherwise."""
        return subprocess.run(
            [sys.executable, "-m", "datamarket", *args],
            env=self.env(site, self.token if token is None else token),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, *args: str, site: str | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "datamarket", *args],
            env=self.env(site, self.token),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def put_on_sale(photos: int) -> DatasetVersion:
    for seed in range(photos):
        store_sellable(noisy_photo(seed), width=900, height=700)
    dataset = Dataset.objects.create(
        slug=SLUG, title="Harbour nights", description="Photos of harbours at night."
    )
    Offer.objects.create(dataset=dataset, terms=LicenseTerms.objects.get(slug="research"), price_cents=25_000)
    version = services.version_create(dataset=dataset, actor=None)
    build.version_build(version_id=version.pk)
    version.refresh_from_db()
    assert version.status == DatasetVersion.Status.PUBLISHED, version.failure_reason
    Dataset.objects.filter(pk=dataset.pk).update(is_public=True)
    return version


@pytest.fixture
def market(live_server, media_root, tmp_path) -> Market:
    """A published dataset of a few MB, bought by a buyer who has an API token."""
    version = put_on_sale(photos=6)
    buyer = BuyerFactory()
    order = orders.order_create(buyer=buyer, dataset=version.dataset, terms_slug="research")
    grant = orders.order_pay_test(order=order, buyer=buyer)
    _, key = api_token_create(user=buyer, name="laptop")
    home = tmp_path / "home"
    home.mkdir()
    return Market(url=live_server.url, token=key, license_id=str(grant.public_id), version=version, home=home)


@dataclass
class Seen:
    method: str
    path: str
    range: str | None
    status: int


@dataclass
class Proxy:
    """Forwards to the site, keeping the Host header so that the site's links point back at the proxy."""

    upstream: str
    bytes_per_second: float | None = None  # None: as fast as it can
    honour_range: bool = True
    refuse_next_downloads: int = 0  # answer 403 to this many download links, as an expired link is answered
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def downloads(self) -> list[Seen]:
        return [request for request in self.seen if request.path.startswith("/downloads/")]


def _handler(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    upstream = urlsplit(proxy.upstream)

    class Forward(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            requested_range = self.headers.get("Range")
            if self.path.startswith("/downloads/") and proxy.refuse_next_downloads > 0:
                proxy.refuse_next_downloads -= 1
                self._answer(403, {}, b"This download link is not valid or has expired.", requested_range)
                return
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
            headers = {key: value for key, value in self.headers.items() if key.lower() != "range"}
            connection.request("GET", self.path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            headers = {key: value for key, value in response.getheaders() if key.lower() not in ("content-length", "connection", "transfer-encoding")}  # fmt: skip
            status = response.status
            connection.close()
            if requested_range and proxy.honour_range and status == 200:
                start = int(requested_range.removeprefix("bytes=").split("-")[0])
                if start >= len(body):
                    self._answer(416, {"Content-Range": f"bytes */{len(body)}"}, b"", requested_range)
                    return
                headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
                body, status = body[start:], 206
            self._answer(status, headers, body, requested_range)

        def _answer(
            self, status: int, headers: dict[str, str], body: bytes, requested_range: str | None
        ) -> None:
            proxy.seen.append(Seen("GET", self.path, requested_range, status))
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = 32 * 1024
            try:
                for start in range(0, len(body), chunk):
                    self.wfile.write(body[start : start + chunk])
                    if proxy.bytes_per_second:
                        time.sleep(chunk / proxy.bytes_per_second)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client was killed halfway, which is what some tests do

    return Forward


@pytest.fixture
def proxy(market) -> Iterator[Proxy]:
    proxy = Proxy(upstream=market.url)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield proxy
    server.shutdown()
    server.server_close()
