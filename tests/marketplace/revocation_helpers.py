"""What the revocation tests share: licensees of versions with and without an asset, tasks run in process, and
a local HTTP server standing in for a buyer's webhook endpoint."""

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from creators.models import MediaAsset
from datasets import build, services
from datasets.models import DatasetVersion
from licensing.services import consents_withdraw
from marketplace.celery import app
from marketplace.models import LicenseGrant, User
from marketplace.services import orders, organizations
from tests.datasets.conftest import photo_bytes, store_sellable
from tests.factories import BuyerFactory
from tests.marketplace.test_orders import put_on_sale


def buy(version: DatasetVersion, buyer: User | None = None, tier: str = "research") -> LicenseGrant:
    """A license on the dataset's version on sale, bought through the test checkout."""
    buyer = buyer or BuyerFactory()
    order = orders.order_create(buyer=buyer, dataset=version.dataset, terms_slug=tier)
    assert order.version == version
    return orders.order_pay_test(order=order, buyer=buyer)


@dataclass
class Market:
    """Licensees of three versions, and the asset only one of those versions holds."""

    asset: MediaAsset
    # The version with the asset (city-life v2), held by a team of two buyers.
    with_asset: DatasetVersion
    holder: LicenseGrant
    colleague: User
    # City-life v1, sealed before the asset existed.
    without_asset: DatasetVersion
    earlier_holder: LicenseGrant
    # Another dataset, built before the asset existed.
    other_dataset_holder: LicenseGrant


def market() -> Market:
    other = put_on_sale("food", photos=1)
    first = put_on_sale("city-life", photos=2)
    earlier_holder = buy(first)
    other_dataset_holder = buy(other)
    asset = store_sellable(photo_bytes(4242))
    second = services.version_create(dataset=first.dataset, actor=None)
    build.version_build(version_id=second.pk)
    second.refresh_from_db()
    assert second.status == DatasetVersion.Status.PUBLISHED
    assert second.items.filter(asset=asset).exists() and not first.items.filter(asset=asset).exists()
    holder = buy(second)
    owner = holder.order.buyer
    colleague = BuyerFactory()
    invitation = organizations.invitation_send(
        organization=holder.organization, actor=owner, email=colleague.email
    )
    organizations.invitation_accept(public_id=invitation.public_id, user=colleague)
    return Market(
        asset=asset,
        with_asset=second,
        holder=holder,
        colleague=colleague,
        without_asset=first,
        earlier_holder=earlier_holder,
        other_dataset_holder=other_dataset_holder,
    )


def superseded_without_signals(licensees: Market) -> None:
    """The withdrawal (its versions go off sale in its transaction) and the replacement its task asks for;
    nothing queued after a commit runs."""
    consents_withdraw(asset_ids=[licensees.asset.pk], actor=licensees.asset.creator.user)
    services.versions_replace(
        version_ids=list(
            DatasetVersion.objects.filter(
                status=DatasetVersion.Status.SUPERSEDED, items__asset=licensees.asset
            ).values_list("pk", flat=True)
        ),
        asset_ids=[licensees.asset.pk],
    )


@pytest.fixture
def tasks_in_process() -> Iterator[None]:
    """Celery tasks run where they are queued, their errors raised, as a worker would run them."""
    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """A buyer's endpoint on 127.0.0.1: records each request and answers as scripted (a status, or "hang"
    to answer nothing for longer than the sender waits); 200 once the script runs out."""

    url: str
    requests: list[Received] = field(default_factory=list)
    script: list[int | str] = field(default_factory=list)
    hang_seconds: float = 2.0

    def next_answer(self) -> int | str:
        return self.script.pop(0) if self.script else 200


@pytest.fixture
def webhook_receiver(settings) -> Iterator[WebhookReceiver]:
    """The receiver, and the site set to post to it: loopback and plain http are refused unless allowed."""
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    receiver: WebhookReceiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
            answer = receiver.next_answer()
            if answer == "hang":
                time.sleep(receiver.hang_seconds)
                return
            self.send_response(int(answer))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = WebhookReceiver(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
