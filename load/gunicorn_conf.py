"""gunicorn's settings for the load run, and an account of each request's time inside the server.

locust's times are seen from the client: on a busy machine they hold the waits for a worker and for a core.
Each worker here also writes, per request, its kind (the X-Load-Kind header the simulated users send), the
time from the request parsed to the response written, and the CPU time the worker's thread spent on it: the
CPU figure is what the site costs, however busy the machine is (the database's own CPU is not in it).
"""

import csv
import os
import time
from pathlib import Path
from typing import Any

workers = 2
# Threads let a worker serve another request while one waits on PostgreSQL, on a slow client, or for a
# core. With 50 simulated users on two cores, 2 workers of 4 threads served at least as many requests as 2
# single-threaded workers, and the small ones (previews, static files, downloads) stopped queueing behind
# page renders (docs/operations.md, "Load test").
threads = 4

# The runner reads the run's figures from these files, in the scratch site's folder.
TIMINGS_PREFIX = "server-timings-"


def pre_request(worker: Any, req: Any) -> None:
    req.load_started = (time.perf_counter(), time.thread_time())


def post_request(worker: Any, req: Any, environ: dict[str, Any], resp: Any) -> None:
    started, cpu_started = req.load_started
    if not hasattr(worker, "load_timings"):
        stream = (Path(os.environ["VAR_DIR"]) / f"{TIMINGS_PREFIX}{worker.pid}.csv").open(
            "a", newline="", buffering=1
        )
        worker.load_timings = csv.writer(stream)
    worker.load_timings.writerow(
        [
            environ.get("HTTP_X_LOAD_KIND", ""),
            f"{(time.perf_counter() - started) * 1000:.2f}",
            f"{(time.thread_time() - cpu_started) * 1000:.2f}",
        ]
    )
