"""Redis, the cache and the broker both, stopped for 30 s while people browse and ask for work.

The site (gunicorn) and a worker with beat run as in production, on a Redis of the drill's own. While it is
down every page still renders, and what people ask for meanwhile (an upload, whose ingest is queued; a version
build; a password reset email) is kept in the outbox, then runs once Redis is back: the worker reconnects, beat
runs the outbox relay, the relay publishes.
"""

import time

import pytest
import requests

from core.outbox.models import QueuedTask
from creators.models import MediaAsset
from datasets.models import Dataset, DatasetVersion, Offer
from licensing.models import LicenseTerms
from marketplace.services.accounts import api_token_create
from tests.conftest import _database_url_of_test_database
from tests.datasets.conftest import photo_bytes, publish_first_version, store_sellable
from tests.drills.infra import (  # noqa: F401  (fixtures)
    PAGE_TIMEOUT_SECONDS,
    PageLoad,
    fixture_private_redis,
    fixture_processes,
    form_post,
    signed_in,
    wait_until,
)

pytestmark = [pytest.mark.worker, pytest.mark.drill]

OUTAGE_SECONDS = 30
# How long the tasks asked for during the outage may take to run once Redis is back: the worker's reconnection
# backs off up to about 10 s, beat's relay runs every 20 s, and the build itself takes a few seconds.
RECOVERY_SECONDS = 120
# A page that takes longer than this while Redis is down is waiting on it, which none should.
SLOWEST_PAGE_SECONDS = 3


def test_pages_render_and_tasks_wait_out_a_redis_outage(
    transactional_db, private_redis, processes, drill, buyer, creator, reviewer, password
):
    dataset = Dataset.objects.create(slug="city-life", title="City life", description="Photos of city life.")
    Offer.objects.create(dataset=dataset, terms=LicenseTerms.objects.get(slug="research"), price_cents=25_000)
    store_sellable(photo_bytes(1))
    publish_first_version(dataset)
    store_sellable(photo_bytes(2))  # something new for the version built during the outage
    _, token = api_token_create(user=creator, name="drill uploads")
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.drills.production_cache_settings",
        "DATABASE_URL": _database_url_of_test_database(),
        "REDIS_URL": private_redis.url,
    }
    site = processes.site(env)
    worker = processes.worker(env, beat=True)
    anonymous, api = requests.Session(), requests.Session()
    api.headers["Authorization"] = f"Token {token}"
    buyer_browser = signed_in(site, buyer.email, password)
    reviewer_browser = signed_in(site, reviewer.email, password)
    pages = [
        ("/datasets/", anonymous),
        (f"/datasets/{dataset.slug}/", anonymous),
        ("/account/login/", anonymous),
        ("/account/licenses/", buyer_browser),
        ("/api/v1/datasets/", api),  # throttled: a counter in the cache
    ]

    with PageLoad(site, pages) as load:
        time.sleep(2)
        private_redis.stop()
        outage_started = time.monotonic()

        upload = api.post(
            f"{site.url}/api/v1/assets/",
            files={"file": ("street.jpg", photo_bytes(3), "image/jpeg")},
            timeout=PAGE_TIMEOUT_SECONDS,
        )
        assert upload.status_code == 201, upload.text[:2000]
        build = form_post(
            reviewer_browser, f"{site.url}/curation/{dataset.slug}/versions/", {"change_note": ""}
        )
        assert build.status_code == 302, build.text[:2000]
        reset_page = requests.Session()
        reset_page.get(f"{site.url}/account/password/reset/", timeout=PAGE_TIMEOUT_SECONDS).raise_for_status()
        reset = form_post(reset_page, f"{site.url}/account/password/reset/", {"email": buyer.email})
        assert reset.status_code == 302, reset.text[:2000]
        signed_in(site, buyer.email, password)  # signing in needs no Redis either
        asked_for = QueuedTask.objects.count()
        assert sorted(QueuedTask.objects.values_list("task_name", flat=True)) == [
            "creators.tasks.asset_ingest",
            "datasets.tasks.version_build",
            "marketplace.tasks.password_reset_send",
        ]

        time.sleep(max(0.0, outage_started + OUTAGE_SECONDS - time.monotonic()))
        private_redis.start()
        outage_ended = time.monotonic()

        asset = MediaAsset.objects.get(public_id=upload.json()["id"])
        version = DatasetVersion.objects.get(dataset=dataset, number=2)
        ran = {
            "ingest": lambda: MediaAsset.objects.get(pk=asset.pk).status != MediaAsset.Status.UPLOADED,
            "build": lambda: (
                DatasetVersion.objects.get(pk=version.pk).status == DatasetVersion.Status.PUBLISHED
            ),
            "email": lambda: any(buyer.email in email for email in worker.sent_emails()),
        }
        wait_until(
            lambda: all(check() for check in ran.values()) or worker.process.poll() is not None,
            timeout=RECOVERY_SECONDS,
            what="the tasks asked for during the outage to run",
            interval=0.5,
        )
        all_ran = time.monotonic()
        assert worker.process.poll() is None, worker.log()

        # A task asked for now is published straight away: the site's broker connection came back too.
        form_post(reset_page, f"{site.url}/account/password/reset/", {"email": buyer.email})
        assert not QueuedTask.objects.exists()

    during = load.between(outage_started, outage_ended)
    failed = [answer for answer in during if answer.status not in (200, 302)]
    assert during and not failed, [(a.path, a.status, a.body[:300]) for a in failed[:5]]
    slowest = max(answer.seconds for answer in during)
    assert slowest < SLOWEST_PAGE_SECONDS, slowest
    after = load.between(outage_ended, all_ran)
    assert all(answer.status in (200, 302) for answer in after)
    ran_count = sum(check() for check in ran.values())
    drill.survived(
        f"Redis stopped {outage_ended - outage_started:.0f} s: {len(during)} page requests during it "
        f"({len({a.path for a in during})} pages, a sign-in), {len(failed)} errors, slowest {slowest:.2f} s; "
        f"{asked_for} tasks asked for during it (ingest, build, email), {ran_count} ran after, the last "
        f"{all_ran - outage_ended:.0f} s after Redis came back"
    )
