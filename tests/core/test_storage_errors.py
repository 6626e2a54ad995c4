"""Which storage failures ingest and builds ride out with a retry, and which fail at once."""

import errno

import pytest
from boto3.exceptions import RetriesExceededError
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, ReadTimeoutError

from core.storage_errors import is_transient_storage_error, storage_unavailable


def _client_error(status: int, code: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PutObject",
    )


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(EndpointConnectionError(endpoint_url="http://s3.example"), id="unreachable"),
        pytest.param(ReadTimeoutError(endpoint_url="http://s3.example"), id="read-timeout"),
        pytest.param(_client_error(503, "SlowDown"), id="slow-down"),
        pytest.param(_client_error(500, "InternalError"), id="server-error"),
        pytest.param(ConnectionResetError(errno.ECONNRESET, "reset"), id="connection-reset"),
        pytest.param(OSError(errno.ENOSPC, "No space left on device"), id="disk-full"),
        pytest.param(OSError(errno.ESTALE, "Stale file handle"), id="stale-mount"),
        pytest.param(
            RetriesExceededError(last_exception=EndpointConnectionError(endpoint_url="http://s3.example")),
            id="transfer-gave-up-on-an-outage",
        ),
    ],
)
def test_an_outage_is_worth_another_try(error):
    assert is_transient_storage_error(error)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(_client_error(404, "NoSuchKey"), id="missing-object"),
        pytest.param(_client_error(403, "AccessDenied"), id="refused"),
        pytest.param(NoCredentialsError(), id="no-credentials"),
        pytest.param(FileNotFoundError(errno.ENOENT, "No such file"), id="missing-file"),
        pytest.param(PermissionError(errno.EACCES, "Permission denied"), id="permission"),
        pytest.param(ValueError("a bug"), id="bug"),
        pytest.param(
            RetriesExceededError(last_exception=_client_error(403, "AccessDenied")),
            id="transfer-gave-up-on-a-refusal",
        ),
    ],
)
def test_anything_else_fails_at_once(error):
    assert not is_transient_storage_error(error)


def test_the_reason_names_the_storage_and_the_error():
    reason = str(storage_unavailable(_client_error(503, "SlowDown")))

    assert reason.startswith("File storage was unavailable (ClientError:") and "SlowDown" in reason
