import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from marketplace.celery import app as celery_app
from tests.factories import DEFAULT_PASSWORD, BuyerFactory, CreatorFactory, ReviewerFactory

ROOT = Path(__file__).resolve().parent.parent
# What each live worker did, reported at the end of the run: (test, transport, tasks succeeded).
LIVE_WORKER_RUNS: list[tuple[str, str, int]] = []


def pytest_report_header(config: pytest.Config) -> list[str]:
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return [
        f"marketplace: database={database} broker={settings.CELERY_BROKER_URL} queue={settings.CELERY_TASK_DEFAULT_QUEUE}"
    ]


def pytest_terminal_summary(terminalreporter) -> None:
    for test, transport, succeeded in LIVE_WORKER_RUNS:
        terminalreporter.write_line(
            f"live worker: {succeeded} task(s) succeeded through {transport} in {test}"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests last: while their browser runs, the test thread holds an event loop (tests/e2e)."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """No test inherits another's throttling counts."""
    yield
    cache.clear()


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    """File storage in a folder of this test's own, so a test can see exactly what was stored."""
    root = tmp_path / "media"
    root.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root)},
        },
    }
    return root


@pytest.fixture
def password() -> str:
    return DEFAULT_PASSWORD


@pytest.fixture
def creator(db):
    return CreatorFactory()


@pytest.fixture
def buyer(db):
    return BuyerFactory()


@pytest.fixture
def reviewer(db):
    return ReviewerFactory()


def _database_url_of_test_database() -> str:
    """The URL of the database the tests run on, for processes started outside pytest."""
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{params['NAME']}"
    user = params.get("USER") or ""
    secret = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    credentials = f"{user}{secret}@" if user else ""
    return f"postgres://{credentials}{params.get('HOST') or '127.0.0.1'}:{params.get('PORT') or 5432}/{params['NAME']}"


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    log_path: Path
    mail_dir: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, condition, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process.poll() is not None:
                raise AssertionError(f"The worker exited with {self.process.returncode}:\n{self.log()}")
            time.sleep(0.2)
        raise AssertionError(f"Timed out after {timeout} s; the worker's log:\n{self.log()}")

    def wait_for_log(self, text: str, timeout: float = 60) -> None:
        self.wait_for(lambda: text in self.log(), timeout)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL, as the kernel's OOM killer or a lost machine would: no chance to clean up."""
        self.process.kill()
        self.process.wait()

    def sent_emails(self) -> list[str]:
        return [path.read_text() for path in sorted(self.mail_dir.glob("*.log"))]


def _purge_test_queue() -> None:
    """Drop messages earlier tests left in this run's queue, so a worker sees only this test's tasks."""
    # A queue that does not exist yet has nothing to drop.
    with celery_app.connection_for_write() as connection, contextlib.suppress(*connection.channel_errors):
        connection.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)


@pytest.fixture
def start_worker(request, transactional_db, tmp_path: Path) -> Iterator:
    """Starts real Celery worker processes on the configured broker and the test database; emails go to files.

    Each call starts one more worker; all are stopped (or found killed) at the end of the test.
    """
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _database_url_of_test_database(),
        "EMAIL_URL": f"filemail:///{mail_dir}",  # django-environ drops one leading slash
    }
    workers: list[WorkerProcess] = []
    _purge_test_queue()

    def start() -> WorkerProcess:
        log_path = tmp_path / f"worker-{len(workers)}.log"
        command = [
            sys.executable, "-m", "celery", "-A", "marketplace", "worker",
            "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--queues", settings.CELERY_TASK_DEFAULT_QUEUE, "--hostname", f"tests-{os.getpid()}-{len(workers)}@%h",
        ]  # fmt: skip
        with log_path.open("w") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        worker = WorkerProcess(process=process, log_path=log_path, mail_dir=mail_dir)
        workers.append(worker)
        worker.wait_for_log("ready.")
        return worker

    yield start
    for worker in workers:
        worker.stop()
        log = worker.log()
        transport = re.search(r"transport:\s+(\S+)", log)
        LIVE_WORKER_RUNS.append(
            (
                request.node.name,
                transport.group(1) if transport else "unknown",
                len(re.findall(r"\] succeeded in", log)),
            )
        )


@pytest.fixture
def live_worker(start_worker) -> WorkerProcess:
    return start_worker()
