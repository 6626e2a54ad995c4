"""Which storage failures are worth trying again: the store was unreachable, overloaded or briefly unwell.

Ingest and the bundle build both read and write through Django's default storage, which is S3 (boto3) in
production and a filesystem otherwise. boto3 already retries each request a few times within a second or
two; what still fails after that is an outage of some seconds or minutes, which the tasks ride out with a
longer backoff. Everything else (a missing object, a refused credential, a bug) fails at once.
"""

import errno
from collections.abc import Iterator

from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, IncompleteReadError
from botocore.exceptions import ConnectionError as EndpointUnreachable
from urllib3.exceptions import ProtocolError


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
