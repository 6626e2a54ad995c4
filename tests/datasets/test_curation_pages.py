import pytest

from datasets.models import Dataset, DatasetVersion, Offer
from datasets.services import dataset_save, version_create
from licensing.models import LicenseTerms
from tests.factories import ConsentFactory, MediaAssetFactory

pytestmark = pytest.mark.django_db

VALID = {
    "title": "City streets",
    "slug": "city-streets",
    "description": "Street photography from European cities.",
    "category": "street",
    "intended_uses": "Training scene classifiers.",
    "media_type": "image",
    "categories": ["street"],
    "tags": "Night, rain , night",
    "required_uses": ["ai_training"],
    "exclude_near_duplicates": "on",
}
PRICED = {"offer_research": "on", "price_research": "250.00"}


def _sellable(**fields):
    asset = MediaAssetFactory(**fields)
    ConsentFactory(asset=asset)
    return asset


@pytest.mark.parametrize("who", ["creator", "buyer"])
def test_only_reviewers_curate(client, request, who):
    client.force_login(request.getfixturevalue(who))

    assert client.get("/curation/").status_code == 403
    assert client.post("/curation/new/", VALID).status_code == 403
    assert not Dataset.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/curation/")

    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_reviewer_creates_a_dataset_and_sees_what_it_matches(client, reviewer):
    _sellable(category="street", original_bytes=2_000_000)
    _sellable(category="street", kind="video")
    _sellable(category="food")
    client.force_login(reviewer)

    response = client.post("/curation/new/", VALID, follow=True)

    dataset = Dataset.objects.get()
    assert (dataset.tags, dataset.categories, dataset.required_uses) == (
        ["night", "rain"],
        ["street"],
        ["ai_training"],
    )
    assert response.status_code == 200
    assert b"<strong>0</strong> sellable items" in response.content  # tagged night or rain: none yet
    dataset.tags = []
    dataset.save()
    page = client.get("/curation/city-streets/")
    assert b"<strong>1</strong> sellable item:" in page.content


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"slug": "Not a slug!"}, "slug"),
        ({"title": ""}, "title"),
        ({"media_type": "audio"}, "media_type"),
        ({"required_uses": ["mind_reading"]}, "required_uses"),
        ({"categories": ["unknown"]}, "categories"),
        ({"exposure_min": "0.8", "exposure_max": "0.2"}, "exposure_max"),
        ({"min_width": "-5"}, "min_width"),
        ({"offer_research": "on", "price_research": ""}, "price_research"),
        ({"offer_research": "on", "price_research": "ten"}, "price_research"),
        ({"offer_research": "on", "price_research": "-5.00"}, "price_research"),
        ({"offer_research": "on", "price_research": "0.50"}, "price_research"),
        ({"offer_research": "on", "price_research": "1000000.00"}, "price_research"),
        ({"offer_research": "on", "price_research": "12.345"}, "price_research"),
    ],
)
def test_bad_input_is_a_form_error_and_saves_nothing(client, reviewer, change, field):
    client.force_login(reviewer)

    response = client.post("/curation/new/", {**VALID, **change})

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Dataset.objects.exists()


def test_a_slug_already_taken_is_refused(client, reviewer):
    client.force_login(reviewer)
    client.post("/curation/new/", VALID)

    response = client.post("/curation/new/", {**VALID, "title": "Another"})

    assert response.status_code == 400
    assert "slug" in response.context["form"].errors
    assert Dataset.objects.count() == 1


def test_building_a_version_from_the_page(client, reviewer, django_capture_on_commit_callbacks):
    _sellable(category="street")
    client.force_login(reviewer)
    client.post("/curation/new/", {**VALID, **PRICED, "tags": ""})

    with django_capture_on_commit_callbacks() as queued:
        response = client.post("/curation/city-streets/versions/", {"change_note": "First cut."}, follow=True)

    version = Dataset.objects.get().versions.get()
    assert (version.number, version.item_count, version.change_note) == (1, 1, "First cut.")
    assert len(queued) == 1  # the bundle build
    assert b"Version 1 holds 1 item," in response.content


def test_building_with_nothing_sellable_says_so(client, reviewer):
    client.force_login(reviewer)
    client.post("/curation/new/", {**VALID, **PRICED})

    response = client.post("/curation/city-streets/versions/", follow=True)

    assert b"No sellable photo or video matches" in response.content
    assert not Dataset.objects.get().versions.exists()


def test_building_before_any_tier_is_priced_says_so(client, reviewer):
    _sellable(category="street")
    client.force_login(reviewer)
    client.post("/curation/new/", {**VALID, "tags": ""})

    response = client.post("/curation/city-streets/versions/", follow=True)

    assert b"Set a price for at least one license tier first" in response.content
    assert not Dataset.objects.get().versions.exists()


# --- Prices ---------------------------------------------------------------------------------------------------


def test_a_ticked_tier_is_saved_with_its_price_in_cents_and_shown_in_dollars(client, reviewer):
    client.force_login(reviewer)

    client.post("/curation/new/", {**VALID, "offer_research": "on", "price_research": "1,250.5"})

    offer = Offer.objects.get()
    assert (offer.terms.slug, offer.price_cents) == ("research", 125_050)
    page = client.get("/curation/city-streets/").content.decode()
    assert 'value="1250.50"' in page


def test_unticking_a_tier_takes_it_off_sale_whatever_its_price(client, reviewer):
    client.force_login(reviewer)
    client.post("/curation/new/", {**VALID, "offer_research": "on", "price_research": "250"})

    client.post("/curation/city-streets/", {**VALID, "price_research": "250"})

    assert not Offer.objects.exists()


# --- Versions and visibility ------------------------------------------------------------------------------


@pytest.fixture
def dataset(reviewer) -> Dataset:
    _sellable(category="street")
    return Dataset.objects.create(slug="city-streets", title="City streets", description="Streets.")


def _version(dataset: Dataset, status: str) -> DatasetVersion:
    version = version_create(dataset=dataset, actor=None)
    DatasetVersion.objects.filter(pk=version.pk).update(status=status)
    version.refresh_from_db()
    return version


@pytest.mark.parametrize("action", ["versions/", "visibility/", "versions/1/retry/", "versions/1/withdraw/"])
def test_only_reviewers_act_on_versions(client, buyer, dataset, action):
    _version(dataset, "failed")
    client.force_login(buyer)

    assert client.post(f"/curation/city-streets/{action}", {"reason": "x", "public": "on"}).status_code == 403
    assert dataset.versions.get().status == "failed"


def test_making_public_without_a_published_version_is_an_error_message(client, reviewer, dataset):
    client.force_login(reviewer)

    response = client.post("/curation/city-streets/visibility/", {"public": "on"}, follow=True)

    assert response.status_code == 200
    assert b"Build and publish a version before making the dataset public." in response.content
    assert not Dataset.objects.get().is_public


def test_a_dataset_is_made_public_and_hidden_again(client, reviewer, dataset):
    _version(dataset, "published")
    dataset_save(
        dataset=dataset, values={}, offers={LicenseTerms.objects.get(slug="research"): 25_000}, actor=reviewer
    )
    client.force_login(reviewer)

    page = client.post("/curation/city-streets/visibility/", {"public": "on"}, follow=True)
    assert Dataset.objects.get().is_public
    assert b"Hide from catalog" in page.content

    client.post("/curation/city-streets/visibility/", {})
    assert not Dataset.objects.get().is_public


def test_withdrawing_needs_a_reason(client, reviewer, dataset):
    version = _version(dataset, "published")
    client.force_login(reviewer)

    response = client.post("/curation/city-streets/versions/1/withdraw/", {"reason": "  "}, follow=True)

    assert b"Say why the version is withdrawn" in response.content
    version.refresh_from_db()
    assert version.status == "published"


def test_a_published_version_is_withdrawn_with_its_reason(client, reviewer, dataset):
    version = _version(dataset, "published")
    client.force_login(reviewer)

    response = client.post(
        "/curation/city-streets/versions/1/withdraw/", {"reason": "A release was forged."}, follow=True
    )

    version.refresh_from_db()
    assert (version.status, version.end_reason) == ("withdrawn", "A release was forged.")
    assert b"A release was forged." in response.content


def test_withdrawing_a_version_that_is_not_published_is_an_error_message(client, reviewer, dataset):
    _version(dataset, "failed")
    client.force_login(reviewer)

    response = client.post("/curation/city-streets/versions/1/withdraw/", {"reason": "Oops."}, follow=True)

    assert response.status_code == 200
    assert b"it cannot become withdrawn" in response.content


def test_a_failed_build_is_retried(client, reviewer, dataset, django_capture_on_commit_callbacks):
    _version(dataset, "failed")
    client.force_login(reviewer)

    with django_capture_on_commit_callbacks() as queued:
        response = client.post("/curation/city-streets/versions/1/retry/", follow=True)

    assert len(queued) == 1
    assert b"queued to build again" in response.content


def test_retrying_a_build_that_did_not_fail_is_an_error_message(client, reviewer, dataset):
    _version(dataset, "published")
    client.force_login(reviewer)

    response = client.post("/curation/city-streets/versions/1/retry/", follow=True)

    assert b"only a failed build is retried" in response.content


def test_a_building_version_s_card_shows_its_progress_and_keeps_polling(client, reviewer, dataset):
    version = _version(dataset, "building")
    DatasetVersion.objects.filter(pk=version.pk).update(items_done=1, bytes_done=1000, shards_done=1)
    client.force_login(reviewer)

    response = client.get("/curation/city-streets/versions/1/")

    page = response.content.decode()
    assert response.status_code == 200
    assert 'hx-trigger="every 2s"' in page and "<progress" in page
    assert "1 of 1 item" in page and "1 shard written" in page
    assert "<html" not in page  # the card alone, for htmx to swap in


def test_before_its_first_shard_a_building_version_s_card_shows_its_delivery_files(client, reviewer, dataset):
    version = _version(dataset, "building")
    DatasetVersion.objects.filter(pk=version.pk).update(item_count=40, deliveries_done=15)
    client.force_login(reviewer)

    page = client.get("/curation/city-streets/versions/1/").content.decode()

    assert '<progress value="15" max="40"' in page
    assert "Making delivery files (upright, without private metadata, rights signed in): 15 of 40" in page


def test_a_finished_version_s_card_stops_polling(client, reviewer, dataset):
    _version(dataset, "published")
    client.force_login(reviewer)

    page = client.get("/curation/city-streets/versions/1/").content.decode()

    assert "hx-trigger" not in page and "<progress" not in page
    assert "Withdraw version 1" in page


def test_the_curation_page_lists_versions_with_their_failures(client, reviewer, dataset):
    version = _version(dataset, "failed")
    DatasetVersion.objects.filter(pk=version.pk).update(failure_reason="The disk is full.")
    client.force_login(reviewer)

    page = client.get("/curation/city-streets/").content.decode()

    assert "The disk is full." in page and "Retry build" in page
