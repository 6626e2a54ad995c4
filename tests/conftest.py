import contextlib
import datetime
import importlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps
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


@pytest.fixture(autouse=True)
def _license_tiers(request: pytest.FixtureRequest) -> None:
    """A transactional test ends by emptying every table, migration data included: the tiers come back here."""
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in request.fixturenames or (marker and marker.kwargs.get("transaction")):
        request.getfixturevalue("transactional_db")
        importlib.import_module("licensing.migrations.0003_license_terms").create_tiers(django_apps, None)
        importlib.import_module("licensing.migrations.0007_license_terms_v2").publish_second_texts(
            django_apps, None
        )


# What the stand-in resolver answers for names (the tests never ask the network's DNS): example.com keeps its
# public address of many years; localhost is loopback, as the system's hosts file has it.
PUBLIC_TEST_ADDRESS = "93.184.215.14"


@pytest.fixture(autouse=True)
def webhook_dns(monkeypatch) -> dict[str, list[str]]:
    """DNS as webhook URLs see it: the returned names and their addresses (a test may change an answer, to
    play a name that re-resolves elsewhere), numeric hosts read by the system's resolver as it reads them
    (127.1, 0x7f.1, ::ffff:7f00:1), and every other name unknown."""
    from core import outbound

    names = {"example.com": [PUBLIC_TEST_ADDRESS], "localhost": ["127.0.0.1", "::1"]}

    def resolve(host, port, family=0, type=0, proto=0, flags=0):
        labels = host.lower().rstrip(".").split(".")
        # The name's own answer, else its closest parent's: hooks.example.com is where example.com is.
        suffixes = (".".join(labels[index:]) for index in range(len(labels)))
        known = next((names[suffix] for suffix in suffixes if suffix in names), None)
        if known is None:
            return socket.getaddrinfo(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
            if ":" in address
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in known
        ]

    monkeypatch.setattr(outbound, "getaddrinfo", resolve)
    return names


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


S3_BUCKET = "marketplace-test"
S3_CREDENTIALS = {"access_key": "testing", "secret_key": "testing", "region_name": "us-east-1"}


@dataclass
class S3Bucket:
    endpoint: str
    client: Any
    name: str = S3_BUCKET

    def object_keys(self) -> list[str]:
        return sorted(
            item["Key"] for item in self.client.list_objects_v2(Bucket=self.name).get("Contents", [])
        )


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on loopback: a real HTTP endpoint that boto3 and browsers talk to."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint, settings) -> Iterator[S3Bucket]:
    """A fresh bucket on the S3 server, made the default storage (as S3_BUCKET does in production)."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=S3_CREDENTIALS["access_key"],
        aws_secret_access_key=S3_CREDENTIALS["secret_key"],
        region_name=S3_CREDENTIALS["region_name"],
    )
    client.create_bucket(Bucket=S3_BUCKET)
    # Browsers post direct uploads to the bucket from the site's origin.
    client.put_bucket_cors(
        Bucket=S3_BUCKET,
        CORSConfiguration={
            "CORSRules": [
                {"AllowedOrigins": ["*"], "AllowedMethods": ["POST", "GET"], "AllowedHeaders": ["*"]}
            ]
        },
    )
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": S3_BUCKET,
                "endpoint_url": s3_endpoint,
                **S3_CREDENTIALS,
                "default_acl": None,
                "file_overwrite": False,
                "querystring_expire": 15 * 60,
                "signature_version": "s3v4",
            },
        },
    }
    bucket = S3Bucket(endpoint=s3_endpoint, client=client)
    yield bucket
    for key in bucket.object_keys():
        client.delete_object(Bucket=S3_BUCKET, Key=key)
    client.delete_bucket(Bucket=S3_BUCKET)


# Browser tests (tests/e2e, tests/security): one Chromium for the whole run, as Playwright's sync API allows
# one per thread.
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# Chromium's flags for a closed network and a root user; without the networking ones it keeps trying to reach
# update and sync services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as env, sync_playwright() as playwright:
        # Playwright's sync API keeps an event loop in the tests' thread while the browser lives, which
        # Django takes for async code; the ORM calls the tests make there are synchronous and safe. Browser
        # tests run last (tests/conftest.py), so no other test runs with this set.
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def password() -> str:
    return DEFAULT_PASSWORD


@pytest.fixture
def sent_emails(mailoutbox) -> Any:
    """Runs the tasks the test queued (they wait in the outbox) in this process, as the worker would, and
    returns every email sent so far: what each address received, without a worker process."""
    from core.outbox.models import QueuedTask

    def run() -> list[Any]:
        for queued in QueuedTask.objects.order_by("pk"):
            celery_app.tasks[queued.task_name].apply(args=queued.args, kwargs=queued.kwargs).get()
            queued.delete()
        return list(mailoutbox)

    return run


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
        # Django's file backend creates the file before it writes the message and its closing rule of dashes:
        # only a file with the rule holds a whole email.
        texts = [path.read_text() for path in sorted(self.mail_dir.glob("*.log"))]
        return [text for text in texts if text.rstrip().endswith("-" * 79)]


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

    def start(**settings_env: str) -> WorkerProcess:
        """One more worker; `settings_env` sets environment variables its settings read (DATASET_SHARD_BYTES...)."""
        log_path = tmp_path / f"worker-{len(workers)}.log"
        command = [
            sys.executable, "-m", "celery", "-A", "marketplace", "worker",
            "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--queues", settings.CELERY_TASK_DEFAULT_QUEUE, "--hostname", f"tests-{os.getpid()}-{len(workers)}@%h",
        ]  # fmt: skip
        with log_path.open("w") as log:
            process = subprocess.Popen(
                command, cwd=ROOT, env={**env, **settings_env}, stdout=log, stderr=subprocess.STDOUT
            )
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


# IPTC digital source types a test manifest declares.
AI_MADE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
CAMERA_MADE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"


@pytest.fixture(scope="session")
def c2pa_test_chain() -> tuple[bytes, bytes]:
    """A throwaway CA's ES256 certificate chain (end entity first) and the end entity's PKCS#8 key: c2pa reads
    what it signs as valid, though not trusted."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common_name: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    def usage(*, signing: bool) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=signing,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=not signing,
            crl_sign=not signing,
            encipher_only=False,
            decipher_only=False,
        )

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    validity = {
        "not_valid_before": now - datetime.timedelta(days=1),
        "not_valid_after": now + datetime.timedelta(days=7),
    }
    ca = (
        x509.CertificateBuilder(subject_name=name("Test CA"), issuer_name=name("Test CA"), **validity)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage(signing=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder(subject_name=name("Test signer"), issuer_name=ca.subject, **validity)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(signing=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    chain = leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    private_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return chain, private_key


@pytest.fixture(scope="session")
def c2pa_signer(c2pa_test_chain):
    """Signs a file with a C2PA manifest declaring how it was made (an IPTC digital source type)."""
    import c2pa

    chain, private_key = c2pa_test_chain

    def sign(source: Path, target: Path, mime: str, digital_source_type: str) -> Path:
        signer = c2pa.Signer.from_info(
            c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, private_key, None)
        )
        manifest = {
            "claim_generator_info": [{"name": "test-generator", "version": "1.0"}],
            "assertions": [
                {
                    "label": "c2pa.actions",
                    "data": {
                        "actions": [{"action": "c2pa.created", "digitalSourceType": digital_source_type}]
                    },
                }
            ],
        }
        with source.open("rb") as original, target.open("w+b") as signed:
            c2pa.Builder(manifest).sign(signer, mime, original, signed)
        return target

    return sign
