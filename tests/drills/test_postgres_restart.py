"""PostgreSQL restarted under load, twice, while the site (gunicorn) and a worker run on it, neither restarted.

On a cluster of the drill's own: a fast restart, then an immediate stop (a crash, as far as the clients can
tell) with the server down for a few seconds. Requests meanwhile fail fast with the 503 page, requests after it
succeed on new connections, and tasks sent to the worker after each restart run.
"""

import os
import subprocess
import sys
import time
from collections.abc import Callable

import psycopg
import pytest
import requests

from marketplace.celery import app as celery_app
from tests.conftest import ROOT, WorkerProcess, _purge_test_queue
from tests.drills.infra import (  # noqa: F401  (fixtures)
    PageLoad,
    PostgresCluster,
    fixture_private_postgres,
    fixture_processes,
    wait_until,
)

pytestmark = [pytest.mark.worker, pytest.mark.drill]

DOWN_SECONDS = 5
# Longer than this, a request in the outage is hanging rather than failing fast (connect_timeout is 5 s).
FAIL_FAST_SECONDS = 6
# The site must serve again within this long of the database being back.
RECOVERY_SECONDS = 10


def test_site_and_worker_ride_out_postgres_restarts(private_postgres, processes, drill):
    private_postgres.create_database("marketplace")
    database_url = private_postgres.url("marketplace")
    env = {"DATABASE_URL": database_url}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        timeout=300,
    )
    _purge_test_queue()
    site = processes.site(env)
    worker = processes.worker(env)
    tasks_run = _task_runner(database_url, worker)
    tasks_run()  # the worker now holds a connection that the restarts will break

    restarts: list[tuple[str, Callable[[], None]]] = [
        ("fast restart", lambda: private_postgres.restart("fast")),
        (f"immediate stop, {DOWN_SECONDS} s down", lambda: _down_for(private_postgres, DOWN_SECONDS)),
    ]
    windows, recoveries, ran = [], [], 0
    with PageLoad(
        site, [("/datasets/", requests.Session()), ("/account/login/", requests.Session())]
    ) as load:
        time.sleep(2)
        for _, restart in restarts:
            started = time.monotonic()
            restart()
            back = time.monotonic()
            wait_until(
                lambda back=back: any(a.status == 200 for a in load.between(back, time.monotonic())),
                timeout=RECOVERY_SECONDS,
                what="the site to serve pages again",
                interval=0.05,
            )
            recovered = min(a.at + a.seconds for a in load.between(back, time.monotonic()) if a.status == 200)
            windows.append((started, recovered))
            recoveries.append(recovered - back)
            tasks_run()
            ran += 1
            time.sleep(2)

    # Still the processes started before the restarts: nothing restarted them.
    assert site.process.poll() is None and worker.process.poll() is None
    in_outages = [a for started, recovered in windows for a in load.between(started - 1, recovered + 1)]
    refused = [a for a in in_outages if a.status == 503]
    broken = [a for a in load.answers if a.status not in (200, 503)]
    assert not broken, [(a.path, a.status, a.body[:500]) for a in broken[:5]]
    assert refused, "no request met the database down: the drill did not test anything"
    assert all("Back in a moment" in a.body and "Traceback" not in a.body for a in refused)
    slowest = max(a.seconds for a in in_outages)
    assert slowest < FAIL_FAST_SECONDS, slowest
    outside = [a for a in load.answers if not any(s - 1 <= a.at < r + 1 for s, r in windows)]
    assert all(a.status == 200 for a in outside)
    drill.survived(
        f"PostgreSQL {' and '.join(name for name, _ in restarts)} under load: {len(load.answers)} page "
        f"requests, {len(refused)} answered 503 during the outages (slowest {slowest:.2f} s), 0 errors or hangs; "
        f"pages back {max(recoveries):.1f} s after the database at most; {ran} of {len(restarts)} tasks sent "
        "after the restarts ran; neither gunicorn nor the worker restarted"
    )


def _down_for(cluster: PostgresCluster, seconds: float) -> None:
    """An immediate stop: every server process killed, no checkpoint, crash recovery on the next start."""
    cluster.stop("immediate")
    time.sleep(seconds)
    cluster.start()


def _task_runner(database_url: str, worker: WorkerProcess) -> Callable[[], None]:
    """Sends the worker a task that writes to the database, and waits until it has."""

    def run() -> None:
        with psycopg.connect(database_url, autocommit=True) as db:
            db.execute(
                "INSERT INTO django_session (session_key, session_data, expire_date) "
                "VALUES (md5(random()::text), '', now() - interval '1 day')"
            )
        celery_app.send_task("marketplace.tasks.sessions_clear_expired")

        def cleared() -> bool:
            with psycopg.connect(database_url, autocommit=True) as db:
                return db.execute("SELECT count(*) FROM django_session").fetchone() == (0,)

        worker.wait_for(cleared, timeout=30)

    return run
