"""/readyz: 200 with each check's latency when the database, the broker and storage answer; otherwise a quick
503 naming what failed, and never a secret. The dependencies are real; a failing one is a real address that
refuses or never answers."""

import socket
import time
from collections.abc import Iterator

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from marketplace import readiness

pytestmark = pytest.mark.django_db

CHECKS = {"database", "broker", "storage"}
# The deadline, plus room for a slow test machine; a probe that hangs would take far longer.
QUICK_SECONDS = readiness.DEADLINE_SECONDS + 1.5


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel completes them) but never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def _timed_get(client, path: str = "/readyz"):
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


def test_all_up_is_200_with_each_check_and_its_latency(client, media_root):
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["failed"]) == ("ready", [])
    assert set(body["checks"]) == CHECKS
    assert all(check["ok"] and check["ms"] >= 0 for check in body["checks"].values())


def test_the_answer_is_never_cached(client, media_root):
    cache_control = client.get("/readyz")["Cache-Control"]

    assert "no-store" in cache_control and "max-age=0" in cache_control


def test_readyz_is_not_redirected_to_https(client, settings, media_root):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/account/").status_code == 301
    assert client.get("/readyz").status_code == 200


def test_a_broker_that_refuses_connections_is_a_quick_503_naming_it_and_no_secret(
    client, settings, media_root
):
    settings.CELERY_BROKER_URL = f"redis://:broker-password@127.0.0.1:{closed_port()}/0"

    response, seconds = _timed_get(client)

    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]
    assert response.json()["checks"]["broker"]["error"]
    assert seconds < QUICK_SECONDS
    assert b"broker-password" not in response.content and b"127.0.0.1" not in response.content


def test_a_broker_that_never_answers_is_a_503_within_the_deadline(client, settings, media_root, silent_port):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{silent_port}/0"

    response, seconds = _timed_get(client)

    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]
    assert seconds < QUICK_SECONDS


def test_a_missing_filesystem_broker_folder_is_a_503(client, settings, media_root, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://localhost//"
    missing = str(tmp_path / "no-broker" / "queue")
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": missing, "data_folder_out": missing}

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]


def test_a_storage_folder_that_cannot_be_made_is_a_503(client, settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(blocker / "media")},
        },
    }

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failed"] == ["storage"]


def test_a_storage_folder_not_made_yet_is_ready(client, settings, tmp_path):
    """FileSystemStorage makes its folder on the first upload: a fresh site is ready before that."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media" / "not-yet")},
        },
    }

    assert client.get("/readyz").status_code == 200


def test_an_s3_bucket_that_answers_is_ready(client, s3_bucket):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["storage"]["ok"]


def _s3_storage(settings, endpoint: str, bucket: str) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": endpoint,
                "access_key": "testing",
                "secret_key": "storage-secret",
                "region_name": "us-east-1",
            },
        },
    }


def test_a_missing_s3_bucket_is_a_503(client, settings, s3_endpoint):
    _s3_storage(settings, s3_endpoint, "no-such-bucket")

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failed"] == ["storage"]


def test_an_s3_endpoint_that_never_answers_is_a_503_within_the_deadline(client, settings, silent_port):
    _s3_storage(settings, f"http://127.0.0.1:{silent_port}", "marketplace")

    response, seconds = _timed_get(client)

    assert response.status_code == 503
    assert response.json()["failed"] == ["storage"]
    assert seconds < QUICK_SECONDS
    assert b"storage-secret" not in response.content


def test_a_database_that_cannot_be_reached_is_a_503(client, media_root, monkeypatch, tmp_path):
    """The check opens a connection of its own, from the same settings the site's connections read."""
    database = connections.settings[DEFAULT_DB_ALIAS]
    if connections[DEFAULT_DB_ALIAS].vendor == "sqlite":
        monkeypatch.setitem(database, "NAME", str(tmp_path / "no-such-folder" / "db.sqlite3"))
    else:
        monkeypatch.setitem(database, "HOST", "127.0.0.1")
        monkeypatch.setitem(database, "PORT", str(closed_port()))

    response, seconds = _timed_get(client)

    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]
    assert seconds < QUICK_SECONDS


def test_healthz_stays_up_when_a_dependency_is_down(client, settings):
    """Liveness must not fail with the broker: an orchestrator would restart a process that is fine."""
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"

    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 503
