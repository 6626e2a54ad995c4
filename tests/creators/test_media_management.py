"""Editing, bulk editing, CSV import, deletion and who may see what."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from creators import services
from creators.models import MediaAsset
from tests.creators import hostile_corpus
from tests.factories import CreatorFactory

pytestmark = pytest.mark.django_db


def _asset(user, name="photo.png", ingest=True) -> MediaAsset:
    asset = services.asset_upload(
        creator=user.creator_profile, upload=SimpleUploadedFile(name, hostile_corpus.png_bytes())
    )
    if ingest:
        services.asset_ingest(asset_id=asset.pk)
    asset.refresh_from_db()
    return asset


def _csv(client, text: str):
    return client.post(
        reverse("creators:api-assets-import"), {"file": SimpleUploadedFile("meta.csv", text.encode())}
    )


def test_the_api_edits_an_asset(client, creator, media_root):
    asset = _asset(creator, ingest=False)
    client.force_login(creator)

    response = client.patch(
        reverse("creators:api-asset", args=[asset.public_id]),
        {"caption": "Rain at night", "tags": ["Rain", "night", "rain"], "category": "street"},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["tags"] == ["night", "rain"]
    asset.refresh_from_db()
    assert (asset.caption, asset.category) == ("Rain at night", "street")


def test_the_api_lists_only_your_own_media(client, creator, media_root):
    mine = _asset(creator, ingest=False)
    _asset(CreatorFactory(), ingest=False)
    client.force_login(creator)

    results = client.get(reverse("creators:api-assets")).json()["results"]

    assert [item["id"] for item in results] == [str(mine.public_id)]


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_creators_asset_is_not_found(client, creator, media_root, method):
    theirs = _asset(CreatorFactory(), ingest=False)
    client.force_login(creator)

    response = getattr(client, method)(
        reverse("creators:api-asset", args=[theirs.public_id]), content_type="application/json"
    )

    assert response.status_code == 404
    assert MediaAsset.objects.filter(pk=theirs.pk, caption="").exists()


def test_derivatives_are_shown_to_their_creator_and_reviewers_only(
    client, creator, reviewer, buyer, media_root
):
    asset = _asset(creator)
    url = reverse("creators:asset-file", args=[asset.public_id, "thumbnail"])

    client.force_login(creator)
    own = client.get(url)
    client.force_login(reviewer)
    reviewed = client.get(url)
    client.force_login(buyer)
    refused = client.get(url)
    client.force_login(CreatorFactory())
    other_creator = client.get(url)

    assert own.status_code == reviewed.status_code == 200
    assert own["X-Robots-Tag"] == "noai, noimageai" and own["tdm-reservation"] == "1"
    assert refused.status_code == other_creator.status_code == 403
    assert client.get(reverse("creators:asset-file", args=[asset.public_id, "original"])).status_code == 404


def test_bulk_edit_adds_tags_and_sets_a_category_on_the_ticked_items(client, creator, media_root):
    first, second, untouched = (_asset(creator, f"{n}.png", ingest=False) for n in "abc")
    client.force_login(creator)

    response = client.post(
        reverse("creators:media-bulk-edit"),
        {"ids": [first.public_id, second.public_id], "category": "food", "add_tags": "lunch, table"},
    )

    assert response.status_code == 302
    for asset in (first, second):
        asset.refresh_from_db()
        assert asset.category == "food"
        assert sorted(asset.tags.values_list("name", flat=True)) == ["lunch", "table"]
    untouched.refresh_from_db()
    assert untouched.category == "other"


def test_bulk_edit_refuses_items_that_are_not_yours(client, creator, media_root):
    theirs = _asset(CreatorFactory(), ingest=False)
    client.force_login(creator)

    response = client.post(
        reverse("creators:media-bulk-edit"), {"ids": [theirs.public_id], "category": "food"}, follow=True
    )

    assert "not yours" in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.category == "other"


def test_the_api_bulk_update_is_all_or_nothing(client, creator, media_root):
    mine = _asset(creator, ingest=False)
    theirs = _asset(CreatorFactory(), ingest=False)
    client.force_login(creator)

    response = client.post(
        reverse("creators:api-assets-bulk"),
        {"ids": [str(mine.public_id), str(theirs.public_id)], "category": "food"},
        content_type="application/json",
    )

    assert response.status_code == 400
    mine.refresh_from_db()
    assert mine.category == "other"


def test_a_csv_sets_captions_tags_and_categories_by_file_name_or_id(client, creator, media_root):
    night = _asset(creator, "night.png", ingest=False)
    lunch = _asset(creator, "lunch.png", ingest=False)
    client.force_login(creator)

    response = _csv(
        client,
        "\ufefffile,id,caption,tags,category\n"
        'night.png,,"Rain, at night",rain;night,street\n'
        f",{lunch.public_id},Lunch,,food\n",
    )

    assert response.status_code == 200, response.content
    assert response.json() == {"updated": 2}
    night.refresh_from_db()
    lunch.refresh_from_db()
    assert (night.caption, night.category) == ("Rain, at night", "street")
    assert sorted(night.tags.values_list("name", flat=True)) == ["night", "rain"]
    assert (lunch.caption, lunch.category) == ("Lunch", "food")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("caption\nhello\n", "“id” or a “file” column"),
        ("file,colour\nnight.png,red\n", "Unknown column"),
        ("file,caption\nmissing.png,hello\n", "Row 2: no photo or video of yours is named"),
        ("file,category\nnight.png,space\n", "Row 2: “space” is not a category"),
        ("file,tags\nnight.png," + "x" * 60 + "\n", "Row 2:"),
        ("file,caption\n", "no rows"),
        ("id,caption\n00000000-0000-0000-0000-000000000000,x\n", "has the id"),
    ],
)
def test_a_bad_csv_changes_nothing_and_says_which_row(client, creator, media_root, text, says):
    night = _asset(creator, "night.png", ingest=False)
    client.force_login(creator)

    response = _csv(client, text)

    assert response.status_code == 400
    assert says in " ".join(response.json()["error"]["fields"]["file"])
    night.refresh_from_db()
    assert night.caption == "" and night.category == "other"


@pytest.mark.parametrize("content", [b"\xff\xfe\x00\x00binary", b"file,caption\nx.png,a\x00b\n"])
def test_a_csv_that_is_not_text_is_refused(client, creator, media_root, content):
    client.force_login(creator)

    response = client.post(
        reverse("creators:api-assets-import"), {"file": SimpleUploadedFile("m.csv", content)}
    )

    assert response.status_code == 400


def test_the_csv_page_shows_row_errors_on_the_form(client, creator, media_root):
    client.force_login(creator)

    response = client.post(
        reverse("creators:media-import"), {"file": SimpleUploadedFile("m.csv", b"file,caption\nnope.png,x\n")}
    )

    assert response.status_code == 400
    assert "Row 2" in response.content.decode()


def test_deleting_from_the_page_removes_the_files(
    client, creator, media_root, django_capture_on_commit_callbacks
):
    asset = _asset(creator)
    client.force_login(creator)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("creators:media-delete", args=[asset.public_id]))

    assert response.status_code == 302
    assert not MediaAsset.objects.exists()
    assert [p for p in media_root.rglob("*") if p.is_file()] == []


def test_the_media_page_filters_and_shows_flags(client, creator, media_root):
    ready = _asset(creator, "ready.png")
    waiting = _asset(creator, "waiting.png", ingest=False)
    client.force_login(creator)

    everything = client.get(reverse("creators:media-list")).content.decode()
    only_ready = client.get(reverse("creators:media-list"), {"status": "ready"}).content.decode()

    assert ready.title in everything and waiting.title in everything
    assert ready.title in only_ready and waiting.title not in only_ready
    assert 'hx-trigger="every 2s"' in everything  # the unfinished card polls for its progress


def test_buyers_have_no_media_pages(client, buyer):
    client.force_login(buyer)

    assert client.get(reverse("creators:media-list")).status_code == 403
    assert client.get(reverse("creators:media-upload")).status_code == 403


def test_the_status_counts_poll_only_while_something_is_being_ingested(client, creator, media_root):
    waiting = _asset(creator, "waiting.png", ingest=False)
    client.force_login(creator)

    while_waiting = client.get(reverse("creators:media-counts")).content.decode()
    services.asset_ingest(asset_id=waiting.pk)
    when_done = client.get(reverse("creators:media-counts")).content.decode()

    assert "1 uploaded" in while_waiting and "every 3s" in while_waiting
    assert "1 ready" in when_done and "every 3s" not in when_done
