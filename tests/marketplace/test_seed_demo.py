import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from creators.models import CreatorProfile, MediaAsset
from datasets.models import Dataset, DatasetVersion
from licensing.models import AuditEvent, Consent, Release, SelfIdentification
from licensing.selectors import sellable_assets
from marketplace.management.commands.seed_demo import DEMO_ACCOUNTS, DEMO_DATASET, DEMO_PHOTOS
from marketplace.models import LicenseGrant, User

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count() for model in (User, CreatorProfile, MediaAsset, Release, Consent, AuditEvent)
    )


def test_seed_demo_is_idempotent(media_root):
    call_command("seed_demo")
    counts = _counts()

    call_command("seed_demo")

    assert counts[:3] == (3, 1, DEMO_PHOTOS + 1)
    assert _counts() == counts
    assert set(MediaAsset.objects.values_list("status", flat=True)) == {"ready"}
    assert MediaAsset.objects.filter(kind="video").count() == 1


def test_the_demo_has_releases_and_consents_in_every_state(media_root):
    call_command("seed_demo")

    assert set(Release.objects.values_list("status", flat=True)) == set(Release.Status.values)
    assert set(Consent.objects.values_list("status", flat=True)) == set(Consent.Status.values)
    submitted = Release.objects.filter(status=Release.Status.SUBMITTED)
    assert set(submitted.values_list("method", flat=True)) == {Release.Method.ONLINE, Release.Method.PAPER}
    assert Release.objects.get(status=Release.Status.REJECTED).rejection_reason


def test_the_demo_releases_carry_their_signatures_and_scans(media_root):
    call_command("seed_demo")

    for release in Release.objects.filter(method=Release.Method.ONLINE).exclude(
        status=Release.Status.AWAITING_SIGNATURE
    ):
        assert (media_root / release.signature.name).is_file()
        assert (media_root / release.witness_signature.name).is_file()
    scans = {Path(r.scan.name).suffix for r in Release.objects.filter(method=Release.Method.PAPER)}
    assert scans == {".pdf", ".jpg"}


def test_the_demo_sells_some_assets_and_keeps_some_self_identification(media_root):
    call_command("seed_demo")

    assert sellable_assets().exists()
    assert SelfIdentification.objects.exists()
    assert "Audit log intact" in _audit_verify()


def test_the_demo_prints_a_working_signing_link(client, media_root):
    output = io.StringIO()
    call_command("seed_demo", stdout=output)

    link = re.search(r"Signing link for .+: https?://[^/]+(/\S+)", output.getvalue()).group(1)
    assert client.get(link).status_code == 200


def _audit_verify() -> str:
    output = io.StringIO()
    call_command("audit_verify", stdout=output)
    return output.getvalue()


@pytest.mark.parametrize(("email", "password", "role"), [account[:3] for account in DEMO_ACCOUNTS])
def test_each_demo_login_works(client, email, password, role):
    call_command("seed_demo", accounts_only=True)

    response = client.post(reverse("login"), {"username": email, "password": password})

    assert response.status_code == 302
    assert response.wsgi_request.user.role == role


def test_the_demo_reviewer_is_a_reviewer():
    call_command("seed_demo", accounts_only=True)

    assert User.objects.get(email="reviewer@example.com").is_reviewer


def test_the_demo_has_a_public_dataset_with_its_bundle_built(media_root):
    call_command("seed_demo")

    dataset = Dataset.objects.get(slug=DEMO_DATASET)
    (version,) = dataset.versions.all()
    assert dataset.is_public
    assert version.status == DatasetVersion.Status.PUBLISHED
    assert version.item_count == sellable_assets().count() == 3
    paths = set(version.files.values_list("path", flat=True))
    assert {"SHA256SUMS", "SHA256SUMS.sig", "croissant.json"} < paths
    assert {
        "shards/drawn-city-scenes-v1-photos-000000.tar",
        "shards/drawn-city-scenes-v1-videos-000000.tar",
    } < paths
    for file in version.files.all():
        assert (media_root / file.storage_name).stat().st_size == file.byte_size


def test_the_demo_buyer_holds_a_license_on_the_demo_dataset(media_root, client):
    call_command("seed_demo")

    buyer = User.objects.get(email=DEMO_ACCOUNTS[1][0])
    (grant,) = LicenseGrant.objects.all()
    assert grant.order.buyer == buyer and grant.version.dataset.slug == DEMO_DATASET
    client.force_login(buyer)
    page = client.get(f"/account/licenses/{grant.public_id}/")
    assert page.status_code == 200
    assert len(page.context["links"]) == grant.version.files.count()
