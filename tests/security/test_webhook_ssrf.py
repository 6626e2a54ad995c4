"""A buyer's webhook URL used to aim the site inward: registering a URL that leads to loopback, a private
network or a cloud metadata address, a name that re-resolves to one after it was checked, a redirect there, a
log that would quote what an internal service says, and an endpoint that drips its answer to hold a worker."""

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core import outbound
from datasets.models import Revocation
from marketplace.models import LicenseGrant, WebhookDelivery, WebhookEndpoint
from marketplace.services import revocations
from tests.conftest import PUBLIC_TEST_ADDRESS
from tests.marketplace.revocation_helpers import buy
from tests.marketplace.test_orders import put_on_sale

pytestmark = pytest.mark.django_db

# Where each spelling leads, and the words of the refusal: an address check, or a URL refused before that.
INWARD_URLS = [
    ("https://127.0.0.1:8443/hooks", "public internet"),
    ("https://[::1]/hooks", "public internet"),
    ("https://0.0.0.0/hooks", "public internet"),
    ("https://[::]/hooks", "public internet"),
    ("https://[::ffff:127.0.0.3]/hooks", "public internet"),
    ("https://[::ffff:7f00:1]/hooks", "public internet"),
    ("https://[::127.0.0.1]/hooks", "public internet"),
    ("https://[64:ff9b::7f00:1]/hooks", "public internet"),
    ("https://[2002:7f00:1::]/hooks", "public internet"),
    ("https://[2002:a9fe:a9fe::]/hooks", "public internet"),
    ("https://169.254.169.254/latest/meta-data/", "public internet"),
    ("https://[fe80::1]/hooks", "public internet"),
    ("https://10.0.0.1/hooks", "public internet"),
    ("https://172.16.0.1/hooks", "public internet"),
    ("https://192.168.1.1/hooks", "public internet"),
    ("https://[fd00::1]/hooks", "public internet"),
    ("https://100.64.0.1/hooks", "public internet"),
    ("https://224.0.0.1/hooks", "public internet"),
    ("https://[ff02::1]/hooks", "public internet"),
    ("https://240.0.0.1/hooks", "public internet"),
    ("https://198.18.0.1/hooks", "public internet"),
    ("https://192.0.2.1/hooks", "public internet"),
    ("https://[2001:db8::1]/hooks", "public internet"),
    ("https://192.0.0.8/hooks", "public internet"),
    ("https://localhost/hooks", "public internet"),
    ("https://LOCALHOST/hooks", "public internet"),
    ("https://hooks.localhost/hooks", "public internet"),
    ("https://2130706433/hooks", "full URL"),
    ("https://0177.0.0.1/hooks", "full URL"),
    ("https://0x7f.1/hooks", "full URL"),
    ("https://127.1/hooks", "full URL"),
    ("https://localhost./hooks", "full URL"),
    ("https://ⓛocalhost/hooks", "full URL"),
    ("http://127.0.0.1:8080/hooks", "https://"),
]


def _registered_through_the_api(buyer, url: str):
    api = APIClient()
    api.force_authenticate(buyer)
    return api.post("/api/v1/webhooks/", {"url": url}, format="json")


@pytest.mark.parametrize(("url", "message"), INWARD_URLS)
def test_registering_an_endpoint_that_leads_inward_is_refused_by_the_api(buyer, url, message):
    response = _registered_through_the_api(buyer, url)

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert list(error["fields"]) == ["url"] and message in error["message"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(("url", "message"), INWARD_URLS)
def test_registering_an_endpoint_that_leads_inward_is_refused_on_the_page(buyer, client, url, message):
    client.force_login(buyer)

    response = client.post(reverse("webhook-list"), {"url": url})

    assert response.status_code == 400 and message in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://nowhere.invalid/hooks", "nowhere.invalid could not be resolved"),
        ("https://example.com:99999/hooks", "port number"),
        ("https://a..example.com/hooks", "full URL"),
    ],
)
def test_registering_a_name_that_does_not_resolve_or_a_bad_port_is_refused(buyer, url, message):
    response = _registered_through_the_api(buyer, url)

    assert response.status_code == 400 and message in response.json()["error"]["message"]
    assert not WebhookEndpoint.objects.exists()


def test_a_name_with_one_private_address_among_public_ones_is_refused(buyer, webhook_dns):
    webhook_dns["hooks.example.com"] = [PUBLIC_TEST_ADDRESS, "10.1.2.3"]

    response = _registered_through_the_api(buyer, "https://hooks.example.com/hooks")

    assert response.status_code == 400 and "public internet" in response.json()["error"]["message"]


# --- Deliveries ---


class Listener:
    """A service on 127.0.0.1, a random port, standing for what the site's network holds: it counts the
    connections it accepts and answers each with `answer`."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.1)
        self.port = self._server.getsockname()[1]
        self.connections = 0
        self.bytes_sent = 0
        self.answer: Callable[[socket.socket], None] = lambda connection: None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            self.connections += 1
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        # OSError: the site hung up.
        with connection, contextlib.suppress(OSError):
            self.answer(connection)

    def drip(self, connection: socket.socket, first: bytes, then: bytes) -> None:
        """Send `first`, then one byte of `then` a second, forever."""
        connection.recv(65536)
        connection.sendall(first)
        while not self._stopped.is_set():
            for byte in then:
                connection.sendall(bytes([byte]))
                self.bytes_sent += 1
                time.sleep(1)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()
        self._server.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    service = Listener()
    yield service
    service.stop()


@pytest.fixture
def licensee(tasks_in_process) -> LicenseGrant:
    return buy(put_on_sale("city-life", photos=1))


def _delivery(grant: LicenseGrant, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A revocation notice for the grant, its delivery to the endpoint made but not yet attempted."""
    revocation = Revocation.objects.create(
        version=grant.version, sample_keys=["k1"], reason="Consent withdrawn.", withdrawn_at=timezone.now()
    )
    revocations.revocation_notify(revocation_id=revocation.pk)
    return WebhookDelivery.objects.get(endpoint=endpoint)


def _registered(grant: LicenseGrant, url: str) -> WebhookEndpoint:
    return revocations.webhook_endpoint_create(actor=grant.order.buyer, url=url)


def _logged(grant: LicenseGrant, endpoint: WebhookEndpoint) -> dict:
    """The delivery log entry the buyer reads through the API."""
    api = APIClient()
    api.force_authenticate(grant.order.buyer)
    (entry,) = api.get(f"/api/v1/webhooks/{endpoint.public_id}/deliveries/").json()
    return entry


def test_a_name_that_resolves_to_loopback_after_registration_is_not_connected_to(
    licensee, listener, webhook_dns, settings
):
    endpoint = _registered(licensee, f"https://hooks.example.com:{listener.port}/hooks")
    delivery = _delivery(licensee, endpoint)
    webhook_dns["hooks.example.com"] = ["127.0.0.1"]  # DNS rebinding: the name now leads to this machine

    revocations.webhook_deliver(delivery_id=delivery.pk)

    assert listener.connections == 0
    entry = _logged(licensee, endpoint)
    assert (entry["status"], entry["last_status_code"], entry["last_error"]) == (
        "pending",
        None,
        "address not allowed",
    )
    # The same delivery where private addresses are allowed does reach the listener: what stopped it above
    # was the check, not the listener.
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    revocations.webhook_deliver(delivery_id=delivery.pk)
    assert listener.connections == 1


def test_a_name_that_turns_to_loopback_between_check_and_connect_is_resolved_once(
    licensee, listener, webhook_dns, monkeypatch
):
    endpoint = _registered(licensee, f"https://hooks.example.com:{listener.port}/hooks")
    delivery = _delivery(licensee, endpoint)
    checked = outbound.getaddrinfo
    lookups = []

    def public_then_loopback(host, port, *args, **kwargs):
        """The first answer is public, every later one is this machine: a second lookup would be fooled."""
        lookups.append(host)
        if len(lookups) > 1:
            webhook_dns["hooks.example.com"] = ["127.0.0.1"]
        return checked(host, port, *args, **kwargs)

    monkeypatch.setattr(outbound, "getaddrinfo", public_then_loopback)
    monkeypatch.setattr(revocations, "WEBHOOK_DEADLINE_SECONDS", 1)

    revocations.webhook_deliver(delivery_id=delivery.pk)

    assert lookups == ["hooks.example.com"] and listener.connections == 0


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.1", "127.1", "[::ffff:7f00:1]", "localhost."]
)
def test_an_endpoint_registered_before_the_check_is_refused_at_delivery(licensee, listener, host):
    endpoint = WebhookEndpoint.objects.create(
        organization=licensee.organization, url=f"https://{host}:{listener.port}/hooks", secret="whsec_old"
    )
    delivery = _delivery(licensee, endpoint)

    revocations.webhook_deliver(delivery_id=delivery.pk)

    assert listener.connections == 0
    assert _logged(licensee, endpoint)["last_error"] == "address not allowed"


def test_a_redirect_to_loopback_is_not_followed(licensee, listener, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # the endpoint itself is the tests' own, on loopback
    inside = Listener()
    try:
        listener.answer = lambda connection: (
            connection.recv(65536),
            connection.sendall(
                f"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{inside.port}/admin\r\n"
                "Content-Length: 0\r\n\r\n".encode()
            ),
        )
        endpoint = _registered(licensee, f"http://127.0.0.1:{listener.port}/hooks")

        revocations.webhook_deliver(delivery_id=_delivery(licensee, endpoint).pk)

        assert (listener.connections, inside.connections) == (1, 0)
    finally:
        inside.stop()
    entry = _logged(licensee, endpoint)
    assert (entry["status"], entry["last_status_code"], entry["last_error"]) == (
        "pending",
        302,
        "the endpoint answered 302",
    )


@pytest.mark.parametrize(
    ("answer", "status_code", "logged"),
    [
        (
            b"HTTP/1.1 500 redis_version:7.2.4 role:master\r\nContent-Length: 25\r\n\r\ninternal-admin-token=s3cr",
            500,
            "the endpoint answered 500",
        ),
        (b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n", None, "no HTTP answer"),
        (b"-ERR unknown command 'POST', with args beginning with: '/hooks'\r\n", None, "no HTTP answer"),
    ],
    ids=["http-error-text", "ssh-banner", "redis-error"],
)
def test_the_delivery_log_never_repeats_what_the_endpoint_said(
    licensee, listener, settings, answer, status_code, logged
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    listener.answer = lambda connection: (connection.recv(65536), connection.sendall(answer))
    endpoint = _registered(licensee, f"http://127.0.0.1:{listener.port}/hooks")

    revocations.webhook_deliver(delivery_id=_delivery(licensee, endpoint).pk)

    entry = _logged(licensee, endpoint)
    assert (entry["last_status_code"], entry["last_error"]) == (status_code, logged)


def test_a_closed_port_is_logged_as_connection_refused(licensee, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    endpoint = _registered(licensee, f"http://127.0.0.1:{port}/hooks")

    revocations.webhook_deliver(delivery_id=_delivery(licensee, endpoint).pk)

    assert _logged(licensee, endpoint)["last_error"] == "connection refused"


@pytest.mark.parametrize(
    ("scheme", "first", "then"),
    [
        # The status line at once, then a header one byte a second: each read gets its byte in time.
        ("http", b"HTTP/1.1 200 OK\r\n", b"X-Slow: " + b"a" * 60),
        # A TLS record header announcing 16 kB of handshake, its bytes sent one a second.
        ("https", b"\x16\x03\x03\x40\x00", b"\x02" + b"\x00" * 60),
    ],
    ids=["answer", "tls-handshake"],
)
def test_an_endpoint_dripping_a_byte_a_second_is_cut_off_at_the_deadline(
    licensee, listener, settings, monkeypatch, scheme, first, then
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    monkeypatch.setattr(revocations, "WEBHOOK_DEADLINE_SECONDS", 2.5)
    listener.answer = lambda connection: listener.drip(connection, first, then)
    endpoint = _registered(licensee, f"{scheme}://127.0.0.1:{listener.port}/hooks")
    delivery = _delivery(licensee, endpoint)

    started = time.monotonic()
    revocations.webhook_deliver(delivery_id=delivery.pk)
    elapsed = time.monotonic() - started

    assert listener.bytes_sent >= 2  # it kept every read alive
    assert 2.5 <= elapsed < 3.5
    assert _logged(licensee, endpoint)["last_error"] == "timeout"
