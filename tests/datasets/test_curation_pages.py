import pytest

from datasets.models import Dataset
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
    "license_terms": [],
    "exclude_near_duplicates": "on",
}


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
        ({"license_terms": ["999999"]}, "license_terms"),
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


def test_freezing_a_version_from_the_page(client, reviewer):
    _sellable(category="street")
    client.force_login(reviewer)
    client.post("/curation/new/", {**VALID, "tags": ""})

    response = client.post("/curation/city-streets/versions/", follow=True)

    version = Dataset.objects.get().versions.get()
    assert (version.number, version.item_count) == (1, 1)
    assert b"Version 1 holds 1 item," in response.content


def test_freezing_with_nothing_sellable_says_so(client, reviewer):
    client.force_login(reviewer)
    client.post("/curation/new/", VALID)

    response = client.post("/curation/city-streets/versions/", follow=True)

    assert b"No sellable photo or video matches" in response.content
    assert not Dataset.objects.get().versions.exists()
