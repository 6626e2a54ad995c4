"""What the infrastructure drills stand on: a Redis and a PostgreSQL cluster of their own, which a drill stops
and starts without disturbing anyone else's; the site under gunicorn and a Celery worker, started as in
production; and page requests from a few threads, each one's status and time kept.

A drill imports the fixtures it uses (`fixture_<name>`, used as `<name>`) from here.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
import requests
from django.db import connection

from tests.conftest import ROOT, WorkerProcess

# A request that takes longer than this has hung, as far as a person waiting for the page is concerned.
PAGE_TIMEOUT_SECONDS = 10


def free_port() -> int:
    with contextlib.closing(socket.create_server(("127.0.0.1", 0))) as sock:
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], object], *, timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"Timed out after {timeout} s waiting for {what}"
        time.sleep(interval)


# --- Redis -------------------------------------------------------------------------------------------------


class RedisServer:
    """A redis-server on a free loopback port, keeping nothing on disk: a restart loses what it held."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                   "--appendonly", "no", "--dir", str(self.directory)]  # fmt: skip
        with (self.directory / "redis.log").open("a") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._answers, timeout=10, what="redis-server to answer")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
        except redis.ConnectionError:
            return False


@pytest.fixture(name="private_redis")
def fixture_private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    from django.conf import settings

    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip(
            "runs where the suite's broker is Redis (CI); `make test` runs on kombu's filesystem broker"
        )
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


# --- PostgreSQL --------------------------------------------------------------------------------------------


def _postgres_bin() -> Path | None:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda path: int(path.parts[-3]))
    return versions[-1].parent if versions else None


class PostgresCluster:
    """A PostgreSQL cluster of its own in a temporary folder, run by the postgres user on a free port."""

    def __init__(self, directory: Path, bin_dir: Path) -> None:
        self.directory = directory
        self.bin_dir = bin_dir
        self.data = directory / "data"
        self.port = free_port()
        # fsync off: a drill's data need not survive a power cut, and the machine's disk is shared.
        self._options = f"-p {self.port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off"

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _pg(self, program: str, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin_dir / program), *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def init(self) -> None:
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.directory / "server.log"), "-o", self._options,
                 "-w", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, mode: str) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.directory / "server.log"), "-o", self._options,
                 "-m", mode, "-w", "restart")  # fmt: skip

    def create_database(self, name: str) -> None:
        self._pg("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)


@pytest.fixture(name="private_postgres")
def fixture_private_postgres() -> Iterator[PostgresCluster]:
    bin_dir = _postgres_bin()
    if connection.vendor != "postgresql":
        pytest.skip("runs where the suite's database is PostgreSQL (CI); `make test` runs on SQLite")
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("starting a PostgreSQL cluster as the postgres user needs root")
    if bin_dir is None:
        pytest.skip("the PostgreSQL server binaries are not installed")
    # Not under pytest's tmp_path: the postgres user cannot enter root's private folder.
    directory = Path(tempfile.mkdtemp(prefix="pg-drill-"))
    shutil.chown(directory, "postgres", "postgres")
    cluster = PostgresCluster(directory, bin_dir)
    cluster.init()
    cluster.start()
    yield cluster
    with contextlib.suppress(subprocess.CalledProcessError):
        cluster.stop("immediate")
    shutil.rmtree(directory, ignore_errors=True)


# --- The site and its worker, as separate processes ----------------------------------------------------------


@dataclass
class Site:
    process: subprocess.Popen
    log_path: Path
    url: str

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class Processes:
    """Starts the site under gunicorn and Celery workers with the environment given; all stop at the end."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.mail_dir = directory / "mail"
        self.mail_dir.mkdir()
        self._started: list[subprocess.Popen] = []

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, Path]:
        log_path = self.directory / f"{name}.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
            )
        self._started.append(process)
        return process, log_path

    def site(self, env: dict[str, str]) -> Site:
        """gunicorn as the Dockerfile runs it, with one process of four threads (the machine has two cores)."""
        port = free_port()
        process, log_path = self._spawn(
            "gunicorn",
            [sys.executable, "-m", "gunicorn", "marketplace.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--threads", "4", "--timeout", "60", "--graceful-timeout", "5"],
            env,
        )  # fmt: skip
        site = Site(process=process, log_path=log_path, url=f"http://127.0.0.1:{port}")

        def answers() -> bool:
            assert process.poll() is None, site.log()
            # The first request loads the application, which may take longer than the next ones.
            with contextlib.suppress(requests.RequestException):
                return requests.get(f"{site.url}/healthz", timeout=PAGE_TIMEOUT_SECONDS).status_code == 200
            return False

        wait_until(answers, timeout=60, what="gunicorn to answer")
        return site

    def worker(self, env: dict[str, str], *, beat: bool = False) -> WorkerProcess:
        """A worker on the environment's broker and database; with `beat`, the beat schedule runs inside it."""
        from django.conf import settings

        command = [sys.executable, "-m", "celery", "-A", "marketplace", "worker", "--pool=solo", "--loglevel=INFO",
                   "--without-gossip", "--without-mingle", "--without-heartbeat",
                   "--queues", settings.CELERY_TASK_DEFAULT_QUEUE, "--hostname", f"drill-{os.getpid()}@%h"]  # fmt: skip
        if beat:
            command += ["--beat", "--schedule", str(self.directory / "beat-schedule")]
        process, log_path = self._spawn(
            "worker", command, {"EMAIL_URL": f"filemail:///{self.mail_dir}", **env}
        )
        worker = WorkerProcess(process=process, log_path=log_path, mail_dir=self.mail_dir)
        worker.wait_for_log("ready.")
        return worker

    def stop_all(self) -> None:
        for process in self._started:
            if process.poll() is None:
                process.terminate()
        for process in self._started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(name="processes")
def fixture_processes(tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path)
    yield started
    started.stop_all()


# --- Load --------------------------------------------------------------------------------------------------


@dataclass
class Answer:
    at: float
    path: str
    status: int | str  # the HTTP status, or the name of the error when none came
    seconds: float
    body: str


@dataclass
class PageLoad:
    """Requests for the given pages, round and round from a few threads, until stopped."""

    site: Site
    pages: list[tuple[str, requests.Session]]
    threads: int = 3
    # A short pause between requests keeps the load steady without starving the two cores.
    pause: float = 0.05
    answers: list[Answer] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> "PageLoad":
        for offset in range(self.threads):
            thread = threading.Thread(target=self._run, args=(offset,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=PAGE_TIMEOUT_SECONDS + 5)

    def _run(self, offset: int) -> None:
        turn = offset
        while not self._stopping.is_set():
            path, session = self.pages[turn % len(self.pages)]
            turn += 1
            started = time.monotonic()
            try:
                response = session.get(
                    self.site.url + path, timeout=PAGE_TIMEOUT_SECONDS, allow_redirects=False
                )
                status: int | str = response.status_code
                body = response.text
            except requests.RequestException as error:
                status, body = type(error).__name__, ""
            self.answers.append(Answer(started, path, status, time.monotonic() - started, body))
            time.sleep(self.pause)

    def between(self, start: float, end: float) -> list[Answer]:
        return [answer for answer in self.answers if start <= answer.at < end]


def signed_in(site: Site, email: str, password: str) -> requests.Session:
    """A browser session signed in through the sign-in page, as a person would."""
    session = requests.Session()
    session.get(f"{site.url}/account/login/", timeout=PAGE_TIMEOUT_SECONDS).raise_for_status()
    response = session.post(
        f"{site.url}/account/login/",
        data={"username": email, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        timeout=PAGE_TIMEOUT_SECONDS,
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:2000]
    return session


def form_post(session: requests.Session, url: str, data: dict[str, str]) -> requests.Response:
    """A form sent from a page of the site: with the CSRF token the site gave this session."""
    return session.post(
        url,
        data={**data, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        timeout=PAGE_TIMEOUT_SECONDS,
        allow_redirects=False,
    )
