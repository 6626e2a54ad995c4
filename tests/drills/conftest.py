"""Fault drills: real workers killed, storage taken away. Each drill records what it survived, and the figures
are printed at the end of the run."""

import contextlib
import io
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection
from PIL import Image

from tests.conftest import S3_BUCKET, S3_CREDENTIALS, WorkerProcess
from tests.datasets.conftest import offered_dataset  # noqa: F401 - the dataset the build drills build

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "camera-samples"
# What each drill survived, one line each, printed after the run.
DRILL_RESULTS: list[str] = []


def pytest_terminal_summary(terminalreporter) -> None:
    if DRILL_RESULTS:
        terminalreporter.section("fault drills")
        for line in DRILL_RESULTS:
            terminalreporter.write_line(line)


@dataclass
class DrillRecord:
    name: str
    started: float = field(default_factory=time.monotonic)
    figures: str = ""

    def survived(self, figures: str) -> None:
        """What the drill put the system through and found afterwards, recorded once its checks have passed."""
        self.figures = figures


@pytest.fixture
def drill(request: pytest.FixtureRequest) -> Iterator[DrillRecord]:
    record = DrillRecord(name=request.node.name)
    yield record
    broker = urlsplit(settings.CELERY_BROKER_URL).scheme
    outcome = record.figures or "did not finish: see the failure above"
    DRILL_RESULTS.append(
        f"{record.name} [{connection.vendor}, {broker}]: {outcome} ({time.monotonic() - record.started:.0f} s)"
    )


def until(condition: Callable[[], object], worker: WorkerProcess, timeout: float = 60) -> None:
    """Poll far more often than WorkerProcess.wait_for: a drill strikes at moments a few milliseconds long."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert worker.process.poll() is None, worker.log()
        assert time.monotonic() < deadline, worker.log()
        time.sleep(0.005)


@pytest.fixture(scope="session")
def camera_photos() -> list[tuple[str, bytes]]:
    """The corpus's camera JPEGs, scaled up to a 12-megapixel camera's size with their EXIF kept.

    The corpus keeps them tiny; at full size ingest takes the worker a moment, as real uploads do.
    """
    if not CORPUS.exists():
        pytest.skip("the shared camera corpus is not beside the project")
    photos = []
    for path in sorted((CORPUS / "jpg").glob("*.jpg")):
        with Image.open(path) as original:
            width, height = original.size
            scale = 4000 / max(width, height)
            full_size = original.convert("RGB").resize(
                (round(width * scale), round(height * scale)), Image.Resampling.BICUBIC
            )
            buffer = io.BytesIO()
            full_size.save(buffer, "JPEG", quality=92, exif=original.info.get("exif", b""))
        photos.append((path.name, buffer.getvalue()))
    return photos


# --- Storage that fails for a while ------------------------------------------------------------------------

# What an overloaded S3 answers (AWS documents SlowDown with 503 as "reduce your request rate").
SLOW_DOWN = (
    b"<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>SlowDown</Code>"
    b"<Message>Please reduce your request rate.</Message></Error>"
)


class StorageProxy:
    """A loopback TCP proxy between the worker and the S3 server, which a drill turns into an outage and back.

    Outage modes: "reset" accepts each connection and resets it at once; "slow_down" answers every request
    with a 503 SlowDown. Either way the connections already open are reset, so no pooled one slips through.
    """

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.mode = "forward"
        self.reset_connections = 0
        self.slowed_down_requests = 0
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def fail(self, mode: str) -> None:
        assert mode in ("reset", "slow_down")
        self.mode = mode
        with self._lock:
            for sock in list(self._open):
                self._reset(sock)
            self._open.clear()

    def recover(self) -> None:
        self.mode = "forward"

    def close(self) -> None:
        self._stopping.set()
        self._acceptor.join(timeout=5)
        self._listener.close()
        self.fail("reset")

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            if self.mode == "reset":
                self.reset_connections += 1
                self._reset(client)
            elif self.mode == "slow_down":
                threading.Thread(target=self._slow_down, args=(client,), daemon=True).start()
            else:
                self._forward(client)

    def _slow_down(self, client: socket.socket) -> None:
        with contextlib.suppress(OSError), client:
            client.settimeout(5)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(65536)
                if not chunk:
                    return
                head += chunk
            self.slowed_down_requests += 1
            client.sendall(
                b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nConnection: close\r\n"
                + f"Content-Length: {len(SLOW_DOWN)}\r\n\r\n".encode()
                + SLOW_DOWN
            )

    def _forward(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self._upstream, timeout=5)
        except OSError:
            self._reset(client)
            return
        upstream.settimeout(None)
        pair = (client, upstream)
        directions_open = [2]
        with self._lock:
            self._open.update(pair)
        for source, target in ((client, upstream), (upstream, client)):
            threading.Thread(
                target=self._pump, args=(source, target, pair, directions_open), daemon=True
            ).start()

    def _pump(
        self,
        source: socket.socket,
        target: socket.socket,
        pair: tuple[socket.socket, socket.socket],
        directions_open: list[int],
    ) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                target.sendall(chunk)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)
        with self._lock:
            directions_open[0] -= 1
            if directions_open[0] == 0:  # both sides are done: the connection ended of itself
                for sock in pair:
                    sock.close()
                    self._open.discard(sock)

    @staticmethod
    def _reset(sock: socket.socket) -> None:
        """Close with an RST, as a crashed or unplugged server's connections end."""
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # A pump thread blocked reading this socket would keep it open through close() alone: the worker
            # would then wait out boto3's read timeout instead of seeing its connection cut.
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()


@pytest.fixture
def storage_proxy(s3_endpoint: str) -> Iterator[StorageProxy]:
    proxy = StorageProxy(s3_endpoint)
    yield proxy
    proxy.close()


def s3_worker_settings(proxy: StorageProxy, **retry: str) -> dict[str, str]:
    """The environment a worker reads to use the test bucket through the proxy; `retry` sets STORAGE_RETRY_*."""
    return {
        "S3_BUCKET": S3_BUCKET,
        "S3_ENDPOINT_URL": proxy.url,
        "S3_REGION": S3_CREDENTIALS["region_name"],
        "S3_ACCESS_KEY_ID": S3_CREDENTIALS["access_key"],
        "S3_SECRET_ACCESS_KEY": S3_CREDENTIALS["secret_key"],
        # boto3 retries each request itself, for up to about fifteen seconds by default; one retry leaves the
        # outage to the tasks' own backoff, which is what the drills are about.
        "AWS_MAX_ATTEMPTS": "2",
        **{f"STORAGE_RETRY_{name.upper()}": value for name, value in retry.items()},
    }
