"""Readiness: whether this process can serve now, from a trivial query, a broker connection and a storage probe.

Each check runs in a thread of its own under one deadline, so a dependency that does not answer costs the
probe its deadline once rather than the sum of every timeout, and `/readyz` never hangs the orchestrator.
Each check also bounds its own sockets, so a thread left behind by the deadline does not linger long.
"""

import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.config import Config
from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import DEFAULT_DB_ALIAS, connections
from kombu import Connection

logger = logging.getLogger(__name__)

# Each connection attempt gives up after this long (libpq's connect_timeout counts whole seconds, at least 2).
CHECK_TIMEOUT_SECONDS = 2
# The whole probe answers within this, whatever a check is still waiting for.
DEADLINE_SECONDS = 3
# What a storage without a cheaper reachability test is asked about; it need not exist.
STORAGE_PROBE_NAME = "readiness-probe"


class StorageUnavailable(Exception):
    """The default storage cannot be used: its folder is not writable, or cannot be made."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    seconds: float
    # The failure's kind only (an exception's class, "timed out"): messages can name hosts or carry a URL with
    # its password, and the probe answers anyone. The log has the whole message.
    error: str = ""


def database_check() -> None:
    """A trivial query on a connection of its own, opened with a short connect timeout and then closed."""
    database = connections.create_connection(DEFAULT_DB_ALIAS)
    if database.vendor == "postgresql":
        # A copy: the shared settings of the site's own connections keep their options.
        options = {**database.settings_dict.get("OPTIONS", {}), "connect_timeout": CHECK_TIMEOUT_SECONDS}
        database.settings_dict = {**database.settings_dict, "OPTIONS": options}
    try:
        with database.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        database.close()


def broker_check() -> None:
    """Connect to the Celery broker, whichever transport it is, and ask for the size of the default queue.

    Counting the queue is the one call both transports answer only when usable: Redis opens a socket and
    answers PING and LLEN, kombu's filesystem transport lists its queue folder (connecting touches nothing).
    """
    options = {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "max_retries": 0,
        "socket_connect_timeout": CHECK_TIMEOUT_SECONDS,
        "socket_timeout": CHECK_TIMEOUT_SECONDS,
    }
    with Connection(
        settings.CELERY_BROKER_URL, transport_options=options, connect_timeout=CHECK_TIMEOUT_SECONDS
    ) as broker:
        broker.default_channel.queue_declare(queue=settings.CELERY_TASK_DEFAULT_QUEUE)


def storage_check() -> None:
    """The default storage answers: its folder is there and writable, or its S3 bucket answers a HEAD."""
    storage: Any = default_storage
    if isinstance(storage, FileSystemStorage):
        # exists() in a folder that cannot be used is just False: look at the folder itself. The storage makes
        # it on its first save, so what must hold is that it is, or can be made, a writable folder.
        location = Path(storage.location)
        nearest = next(path for path in (location, *location.parents) if path.exists())
        if not nearest.is_dir() or not os.access(nearest, os.W_OK | os.X_OK):
            raise StorageUnavailable("the storage folder is not a writable folder and cannot be made one")
    elif getattr(storage, "bucket_name", None):
        # django-storages' own session, so the probe authenticates as the storage does, but a client of its
        # own: the storage's retries and minute-long timeouts would outlast the probe many times.
        config = storage.client_config.merge(
            Config(
                connect_timeout=CHECK_TIMEOUT_SECONDS,
                read_timeout=CHECK_TIMEOUT_SECONDS,
                retries={"total_max_attempts": 1},
            )
        )
        client = storage._create_session().client(
            "s3",
            region_name=storage.region_name,
            use_ssl=storage.use_ssl,
            endpoint_url=storage.endpoint_url,
            verify=storage.verify,
            config=config,
        )
        client.head_bucket(Bucket=storage.bucket_name)
    else:
        storage.exists(STORAGE_PROBE_NAME)


CHECKS: dict[str, Callable[[], None]] = {
    "database": database_check,
    "broker": broker_check,
    "storage": storage_check,
}


def _timed(name: str, check: Callable[[], None]) -> CheckResult:
    started = time.monotonic()
    try:
        check()
    except Exception as error:  # whatever a driver raises, the answer is "not ready", never a 500
        logger.warning("Readiness check %s failed: %s", name, error, exc_info=True)
        return CheckResult(name, ok=False, seconds=time.monotonic() - started, error=type(error).__name__)
    return CheckResult(name, ok=True, seconds=time.monotonic() - started)


def checks_run() -> list[CheckResult]:
    """Every check, run at once; one still running at the deadline counts as failed ("timed out")."""
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="readiness")
    futures: dict[str, Future[CheckResult]] = {
        name: pool.submit(_timed, name, check) for name, check in CHECKS.items()
    }
    wait(futures.values(), timeout=DEADLINE_SECONDS)
    # Not waiting for a hung check: its thread ends with its own socket timeout.
    pool.shutdown(wait=False, cancel_futures=True)
    results = []
    for name, future in futures.items():
        if future.done():
            results.append(future.result())
        else:
            logger.warning("Readiness check %s did not finish within %s s", name, DEADLINE_SECONDS)
            results.append(CheckResult(name, ok=False, seconds=time.monotonic() - started, error="timed out"))
    return results
