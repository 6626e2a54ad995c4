"""Which storage failures are worth trying again (the store was unreachable, overloaded or briefly unwell), and
how the tasks that read or write storage retry.

Ingest and the bundle build both read and write through Django's default storage, which is S3 (boto3) in
production and a filesystem otherwise. boto3 already retries each request a few times within a second or
two; what still fails after that is an outage of some seconds or minutes, which the tasks ride out with a
longer backoff. Everything else (a missing object, a refused credential, a bug) fails at once.
"""

import errno
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, IncompleteReadError
from botocore.exceptions import ConnectionError as EndpointUnreachable
from celery import Task
from django.conf import settings
from urllib3.exceptions import ProtocolError

logger = logging.getLogger(__name__)


class StorageUnavailable(Exception):
    """Storage could not be reached or answered with a server error; the message says what happened."""


_RETRY_LATER_STATUSES = frozenset({500, 502, 503, 504})
# Error codes S3 and S3-compatible stores answer when they ask the client to come back later.
_RETRY_LATER_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling", "ThrottlingException"}
)
# A filesystem store (a local disk, a network mount) that is full, busy or briefly unreachable.
_TRANSIENT_ERRNOS = frozenset(
    {
        errno.EIO,
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EAGAIN,
        errno.EBUSY,
        errno.EINTR,
        errno.ETIMEDOUT,
        errno.ESTALE,
        errno.EMFILE,
        errno.ENFILE,
        errno.ENETDOWN,
        errno.ENETUNREACH,
        errno.EHOSTUNREACH,
    }
)
# boto3 wraps the error that made a transfer give up; it is reachable from the wrapper a few links deep.
_MAX_CAUSE_DEPTH = 5


def is_transient_storage_error(error: BaseException) -> bool:
    """True for an error a storage operation raised because the store was briefly out of reach or overloaded."""
    return any(_is_transient(cause) for cause in _causes(error))


def storage_unavailable(error: BaseException) -> StorageUnavailable:
    """The error to raise instead of `error`, worded for the failure reason a creator or curator reads."""
    return StorageUnavailable(f"File storage was unavailable ({type(error).__name__}: {error})")


def _is_transient(error: BaseException) -> bool:
    if isinstance(error, EndpointUnreachable | HTTPClientError | IncompleteReadError | ProtocolError):
        return True
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = error.response.get("Error", {}).get("Code")
        return status in _RETRY_LATER_STATUSES or code in _RETRY_LATER_CODES
    if isinstance(error, BotoCoreError):
        return False  # a request botocore refused to send: configuration, not an outage
    if isinstance(error, ConnectionError | TimeoutError):
        return True
    return isinstance(error, OSError) and error.errno in _TRANSIENT_ERRNOS


def _causes(error: BaseException | None) -> Iterator[BaseException]:
    """`error` and what caused it: an explicit cause, the last error of a boto3 transfer that gave up, or the
    error a boto3 wrapper was raised while handling."""
    for _ in range(_MAX_CAUSE_DEPTH):
        if error is None:
            return
        yield error
        error = (
            getattr(error, "last_exception", None)
            or error.__cause__
            or (error.__context__ if isinstance(error, Boto3Error) else None)
        )


# Tasks that read or write storage retry with exponential backoff and full jitter, a bounded number of times:
# through a storage outage, which their services do not count as a failed attempt, and after any other file
# error (a missing original, say), which they do count, so that it ends sooner.
STORAGE_TASK_RETRY = {
    "autoretry_for": (StorageUnavailable, OSError),
    "retry_backoff": settings.STORAGE_RETRY_BACKOFF_SECONDS,
    "retry_backoff_max": settings.STORAGE_RETRY_BACKOFF_MAX_SECONDS,
    "retry_jitter": True,
    "max_retries": settings.STORAGE_RETRY_MAX,
}


@contextmanager
def giving_up_on_storage(task: Task, give_up: Callable[[StorageUnavailable, int], None]) -> Iterator[None]:
    """Let StorageUnavailable through to be retried, but on the last try call `give_up(outage, tries)` instead."""
    try:
        yield
    except StorageUnavailable as outage:
        if task.max_retries is not None and task.request.retries < task.max_retries:
            raise
        tries = task.request.retries + 1
        logger.error("%s gave up after %d tries: %s", task.name, tries, outage)
        give_up(outage, tries)
