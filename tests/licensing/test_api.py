"""The licensing API: license terms, releases, consent, withdrawal and reviewers' decisions."""

import datetime
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from licensing.models import AuditEvent, Consent, Release, SelfIdentification
from marketplace.services import api_token_create
from tests.factories import (
    ConsentFactory,
    CreatorFactory,
    CreatorProfileFactory,
    MediaAssetFactory,
    ReleaseFactory,
)

pytestmark = pytest.mark.django_db

ALL_ALLOWED = {
    use: {"permission": "allowed"}
    for use in ("data_mining", "ai_inference", "ai_training", "ai_generative_training")
}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def _as(api: APIClient, user) -> APIClient:
    api.force_login(user)
    return api


def _error(response, status: int) -> dict:
    """The one error format, with the expected status; returns the error for further checks."""
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"status", "code", "message", "fields"}
    assert error["status"] == status
    assert error["message"]
    return error


def _assets(user, count: int = 2, **fields) -> list:
    return [MediaAssetFactory(creator=user.creator_profile, **fields) for _ in range(count)]


def _release_request(assets, **changes) -> dict:
    return {
        "kind": "model",
        "legal_name": "Ada Model",
        "email": "ada@example.com",
        "asset_ids": [str(asset.public_id) for asset in assets],
        "shoot_start": "2026-05-01",
        "shoot_end": "2026-05-03",
        **changes,
    }


def _consent_request(assets, **changes) -> dict:
    return {
        "asset_ids": [str(asset.public_id) for asset in assets],
        "uses": ALL_ALLOWED,
        "terms": ["research", "commercial"],
        **changes,
    }


def _nothing_saved() -> None:
    assert not Release.objects.exists()
    assert not Consent.objects.exists()
    assert not AuditEvent.objects.exists()


# --- License terms ---------------------------------------------------------------------------------------


def test_license_terms_are_listed_with_their_current_version_for_anyone(api):
    response = api.get(reverse("licensing:api-license-terms"))

    assert response.status_code == 200
    terms = {item["slug"]: item for item in response.json()["results"]}
    assert set(terms) == {"research", "commercial", "commercial-generative"}
    generative = terms["commercial-generative"]
    assert generative["commercial"] is True
    assert generative["likeness_generation"] is True
    assert "ai_generative_training" in generative["uses"]
    # The second text says what is served after a withdrawal and what an erasure deletes.
    assert generative["current_version"] == 2
    assert len(generative["text_sha256"]) == 64
    assert sorted(version["version"] for version in generative["versions"]) == [1, 2]


# --- Releases --------------------------------------------------------------------------------------------


def test_a_creator_asks_for_an_online_release_and_gets_the_signing_link(api, creator):
    assets = _assets(creator)

    response = _as(api, creator).post(
        reverse("licensing:api-releases"), _release_request(assets), format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    release = Release.objects.get()
    assert body["id"] == str(release.public_id)
    assert (body["status"], body["method"], body["kind"]) == ("awaiting_signature", "online", "model")
    assert sorted(body["asset_ids"]) == sorted(str(asset.public_id) for asset in assets)
    assert body["signing_url"].startswith("http://testserver/sign/")
    assert api.get(body["signing_url"]).status_code != 404


def test_a_creator_uploads_a_signed_paper_release_with_its_scan(api, creator, media_root):
    assets = _assets(creator, 1)
    data = {
        **_release_request(assets, method="paper"),
        "signed_name": "Ada Model",
        "date_of_birth": "1990-04-01",
        "address": "1 Rue de la Paix, Paris",
        "witness_name": "Wendy Witness",
        "signed_on": "2026-05-03",
        "scan": SimpleUploadedFile("release.pdf", PDF, content_type="application/pdf"),
    }

    response = _as(api, creator).post(reverse("licensing:api-releases"), data, format="multipart")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["method"], body["signing_url"]) == ("submitted", "paper", None)
    assert Release.objects.get().scan.name.endswith(".pdf")


def test_a_paper_release_without_its_scan_is_refused(api, creator):
    assets = _assets(creator, 1)
    data = {**_release_request(assets, method="paper"), "signed_name": "Ada Model", "signed_on": "2026-05-03"}

    error = _error(_as(api, creator).post(reverse("licensing:api-releases"), data, format="multipart"), 400)

    assert "scan" in error["fields"]
    _nothing_saved()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"asset_ids": [str(uuid.uuid4())]}, "asset_ids"),
        ({"asset_ids": []}, "asset_ids"),
        ({"asset_ids": ["not-a-uuid"]}, "asset_ids"),
        ({"shoot_start": "2026-05-04", "shoot_end": "2026-05-01"}, "shoot_end"),
        ({"shoot_start": "2026-13-01"}, "shoot_start"),
        ({"shoot_start": "3000-01-01", "shoot_end": "3000-01-02"}, "shoot_start"),
        ({"kind": "pet"}, "kind"),
        ({"legal_name": "  "}, "legal_name"),
        ({"kind": "property", "property_description": ""}, "property_description"),
        ({"email": "not-an-address"}, "email"),
    ],
)
def test_bad_release_requests_are_refused_and_save_nothing(api, creator, changes, field):
    assets = _assets(creator, 1)

    error = _error(
        _as(api, creator).post(
            reverse("licensing:api-releases"), _release_request(assets, **changes), format="json"
        ),
        400,
    )

    assert field in error["fields"]
    _nothing_saved()


def test_a_release_for_someone_elses_assets_is_refused(api, creator):
    theirs = _assets(CreatorFactory(), 1)

    error = _error(
        _as(api, creator).post(reverse("licensing:api-releases"), _release_request(theirs), format="json"),
        400,
    )

    assert str(theirs[0].public_id) in error["fields"]["asset_ids"][0]
    _nothing_saved()


def test_a_release_request_that_is_not_json_is_refused(api, creator):
    response = _as(api, creator).post(
        reverse("licensing:api-releases"), "kind=model", content_type="text/plain"
    )

    assert _error(response, 415)["code"] == "unsupported_media_type"
    _nothing_saved()


def test_malformed_json_is_refused(api, creator):
    response = _as(api, creator).post(
        reverse("licensing:api-releases"), '{"kind": "model",', content_type="application/json"
    )

    assert _error(response, 400)["code"] == "parse_error"


def test_a_creator_lists_and_reads_only_their_own_releases(api, creator):
    mine = ReleaseFactory(creator=creator.creator_profile, assets=_assets(creator, 1))
    theirs = ReleaseFactory()
    _as(api, creator)

    listed = api.get(reverse("licensing:api-releases")).json()["results"]
    own = api.get(reverse("licensing:api-release", args=[mine.public_id]))
    other = api.get(reverse("licensing:api-release", args=[theirs.public_id]))

    assert [item["id"] for item in listed] == [str(mine.public_id)]
    assert own.status_code == 200
    assert own.json()["asset_ids"] == [str(mine.assets.get().public_id)]
    _error(other, 404)


def test_a_release_never_carries_the_persons_self_identification(api, creator):
    release = ReleaseFactory(creator=creator.creator_profile)
    SelfIdentification.objects.create(
        release=release, gender="Quokkafluid", ethnicity="Zzyzxian", age_range="30_44"
    )

    body = _as(api, creator).get(reverse("licensing:api-release", args=[release.public_id])).content.decode()

    assert "Quokkafluid" not in body
    assert "Zzyzxian" not in body
    assert "30_44" not in body


def test_a_creator_revokes_a_release_once(api, creator):
    release = ReleaseFactory(creator=creator.creator_profile, status="approved")
    url = reverse("licensing:api-release-revoke", args=[release.public_id])
    _as(api, creator)

    first = api.post(url, {"reason": "The model asked me to."}, format="json")
    again = api.post(url, {"reason": "Twice."}, format="json")

    assert first.status_code == 200
    assert (first.json()["status"], first.json()["revocation_reason"]) == (
        "revoked",
        "The model asked me to.",
    )
    assert _error(again, 409)["code"] == "conflict"


def test_nobody_revokes_another_creators_release(api, creator):
    theirs = ReleaseFactory(status="approved")

    _error(
        _as(api, creator).post(
            reverse("licensing:api-release-revoke", args=[theirs.public_id]), {}, format="json"
        ),
        404,
    )

    theirs.refresh_from_db()
    assert theirs.status == "approved"


def test_only_creators_have_releases_and_consents(api, buyer, reviewer):
    for user in (buyer, reviewer):
        _as(api, user)
        assert _error(api.get(reverse("licensing:api-releases")), 403)["code"] == "permission_denied"
        _error(api.get(reverse("licensing:api-consents")), 403)


def test_anonymous_callers_are_asked_to_authenticate(api):
    for name in ("licensing:api-releases", "licensing:api-consents"):
        assert _error(api.get(reverse(name)), 401)["code"] == "not_authenticated"


def test_a_personal_access_token_works(api, creator):
    ReleaseFactory(creator=creator.creator_profile)
    _token, key = api_token_create(user=creator, name="laptop")
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    assert len(api.get(reverse("licensing:api-releases")).json()["results"]) == 1


# --- Consent ---------------------------------------------------------------------------------------------


def test_a_creator_gives_consent_for_many_assets_at_once(api, creator):
    assets = _assets(creator, 3)
    uses = {**ALL_ALLOWED, "ai_generative_training": {"permission": "constrained", "constraint": "No faces."}}

    response = _as(api, creator).post(
        reverse("licensing:api-consents"),
        _consent_request(assets, uses=uses, property_release_required=True),
        format="json",
    )

    assert response.status_code == 201, response.content
    results = response.json()["results"]
    assert sorted(item["asset_id"] for item in results) == sorted(str(a.public_id) for a in assets)
    first = results[0]
    assert first["status"] == "pending"
    assert first["uses"]["ai_generative_training"] == {"permission": "constrained", "constraint": "No faces."}
    assert first["uses"]["data_mining"] == {"permission": "allowed", "constraint": ""}
    assert first["terms"] == ["commercial", "research"]
    assert first["property_release_required"] is True
    assert Consent.objects.filter(status="pending").count() == 3


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"uses": {key: value for key, value in ALL_ALLOWED.items() if key != "ai_training"}}, "uses"),
        ({"uses": {**ALL_ALLOWED, "ai_training": {"permission": "constrained"}}}, "uses"),
        ({"uses": {**ALL_ALLOWED, "ai_training": {"permission": "maybe"}}}, "uses"),
        ({"uses": "all of them"}, "uses"),
        ({"terms": ["no-such-terms"]}, "terms"),
        ({"terms": []}, "terms"),
        ({"asset_ids": [str(uuid.uuid4())]}, "asset_ids"),
        ({"asset_ids": []}, "asset_ids"),
        ({"property_release_required": "perhaps"}, "property_release_required"),
    ],
)
def test_bad_consent_is_refused_and_saves_nothing(api, creator, changes, field):
    assets = _assets(creator, 1)

    error = _error(
        _as(api, creator).post(
            reverse("licensing:api-consents"), _consent_request(assets, **changes), format="json"
        ),
        400,
    )

    assert field in error["fields"]
    _nothing_saved()


def test_a_constraint_without_words_is_explained(api, creator):
    assets = _assets(creator, 1)
    uses = {**ALL_ALLOWED, "ai_training": {"permission": "constrained", "constraint": " "}}

    error = _error(
        _as(api, creator).post(
            reverse("licensing:api-consents"), _consent_request(assets, uses=uses), format="json"
        ),
        400,
    )

    assert error["fields"]["uses"]["ai_training"]["constraint"] == ["Describe the constraint in words."]


def test_consent_for_someone_elses_assets_is_refused(api, creator):
    mine, theirs = _assets(creator, 1), _assets(CreatorFactory(), 1)

    _error(
        _as(api, creator).post(
            reverse("licensing:api-consents"), _consent_request(mine + theirs), format="json"
        ),
        400,
    )

    _nothing_saved()


def test_a_creator_lists_only_their_own_consents_with_filters(api, creator):
    pending, active = _assets(creator, 2)
    mine_pending = ConsentFactory(asset=pending, status="pending")
    mine_active = ConsentFactory(asset=active, status="active")
    ConsentFactory(status="pending")
    _as(api, creator)
    url = reverse("licensing:api-consents")

    everything = api.get(url).json()["results"]
    only_pending = api.get(url, {"status": "pending"}).json()["results"]
    of_asset = api.get(url, {"asset": str(active.public_id)}).json()["results"]

    assert {item["id"] for item in everything} == {str(mine_pending.public_id), str(mine_active.public_id)}
    assert [item["id"] for item in only_pending] == [str(mine_pending.public_id)]
    assert [item["id"] for item in of_asset] == [str(mine_active.public_id)]


@pytest.mark.parametrize(("params", "field"), [({"status": "happy"}, "status"), ({"asset": "42"}, "asset")])
def test_bad_consent_filters_are_refused(api, creator, params, field):
    error = _error(_as(api, creator).get(reverse("licensing:api-consents"), params), 400)

    assert field in error["fields"]


def test_a_creator_withdraws_consent_for_many_assets(api, creator):
    assets = _assets(creator, 3)
    for asset in assets[:2]:
        ConsentFactory(asset=asset, status="active")

    response = _as(api, creator).post(
        reverse("licensing:api-consents-withdraw"),
        {"asset_ids": [str(asset.public_id) for asset in assets], "reason": "Changed my mind."},
        format="json",
    )

    assert response.json() == {"withdrawn": 2}
    assert set(Consent.objects.values_list("status", "withdrawal_reason")) == {
        ("withdrawn", "Changed my mind.")
    }


def test_nobody_withdraws_another_creators_consent(api, creator):
    theirs = ConsentFactory(status="active")

    error = _error(
        _as(api, creator).post(
            reverse("licensing:api-consents-withdraw"),
            {"asset_ids": [str(theirs.asset.public_id)]},
            format="json",
        ),
        400,
    )

    assert "asset_ids" in error["fields"]
    theirs.refresh_from_db()
    assert theirs.status == "active"


# --- Review decisions ------------------------------------------------------------------------------------


def _submitted_release() -> Release:
    return ReleaseFactory(status="submitted", submitted_at=timezone.now() - datetime.timedelta(hours=1))


@pytest.mark.parametrize("role", ["creator", "buyer"])
def test_only_reviewers_decide(api, request, role):
    release, consent = _submitted_release(), ConsentFactory(status="pending")
    _as(api, request.getfixturevalue(role))

    for url in (
        reverse("licensing:api-review-release", args=[release.public_id]),
        reverse("licensing:api-review-consent", args=[consent.public_id]),
    ):
        assert (
            _error(api.post(url, {"decision": "approve"}, format="json"), 403)["code"] == "permission_denied"
        )
    release.refresh_from_db()
    consent.refresh_from_db()
    assert (release.status, consent.status) == ("submitted", "pending")


def test_anonymous_callers_cannot_decide(api):
    release = _submitted_release()

    response = api.post(
        reverse("licensing:api-review-release", args=[release.public_id]),
        {"decision": "approve"},
        format="json",
    )

    _error(response, 401)


def test_a_reviewer_approves_a_release_and_deciding_again_conflicts(api, reviewer):
    release = _submitted_release()
    url = reverse("licensing:api-review-release", args=[release.public_id])
    _as(api, reviewer)

    approved = api.post(url, {"decision": "approve", "note": "Clear scan."}, format="json")
    again = api.post(url, {"decision": "reject", "reason": "other", "note": "Oops."}, format="json")

    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["review_note"]) == ("approved", "Clear scan.")
    error = _error(again, 409)
    assert error["message"] == "This release is approved; it cannot become rejected."
    release.refresh_from_db()
    assert release.status == "approved"


def test_a_reviewer_rejects_a_release_with_a_reason(api, reviewer):
    release = _submitted_release()

    response = _as(api, reviewer).post(
        reverse("licensing:api-review-release", args=[release.public_id]),
        {"decision": "reject", "reason": "dates_mismatch", "note": "Shot in June."},
        format="json",
    )

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["rejection_reason"]) == ("rejected", "dates_mismatch")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "maybe"}, "decision"),
        ({}, "decision"),
        ({"decision": "reject"}, "reason"),
        ({"decision": "reject", "reason": "bad_vibes"}, "reason"),
        ({"decision": "reject", "reason": "other"}, "note"),
        ({"decision": ["approve"]}, "decision"),
    ],
)
def test_bad_release_decisions_are_refused(api, reviewer, body, field):
    release = _submitted_release()

    error = _error(
        _as(api, reviewer).post(
            reverse("licensing:api-review-release", args=[release.public_id]), body, format="json"
        ),
        400,
    )

    assert field in error["fields"]
    release.refresh_from_db()
    assert release.status == "submitted"
    assert not AuditEvent.objects.exists()


def test_a_decision_on_an_unknown_release_is_not_found(api, reviewer):
    url = reverse("licensing:api-review-release", args=[uuid.uuid4()])

    _error(_as(api, reviewer).post(url, {"decision": "approve"}, format="json"), 404)


def test_a_decision_that_is_not_json_is_refused(api, reviewer):
    release = _submitted_release()

    response = _as(api, reviewer).post(
        reverse("licensing:api-review-release", args=[release.public_id]),
        {"decision": "approve"},
        format="multipart",
    )

    _error(response, 415)


def test_a_reviewer_approves_a_consent_with_fewer_people_only_with_a_note(api, reviewer):
    consent = ConsentFactory(status="pending", asset=MediaAssetFactory(face_count=2))
    url = reverse("licensing:api-review-consent", args=[consent.public_id])
    _as(api, reviewer)

    refused = api.post(url, {"decision": "approve", "identifiable_people": 0}, format="json")
    consent.refresh_from_db()
    assert "people_note" in _error(refused, 400)["fields"]
    assert consent.status == "pending"

    approved = api.post(
        url,
        {"decision": "approve", "identifiable_people": 0, "people_note": "Both are statues."},
        format="json",
    )
    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["identifiable_people"]) == ("active", 0)


def test_a_consent_approved_without_a_count_of_people_is_refused(api, reviewer):
    # No default from the detectors, not even 0 faces: the reviewer says who is in the picture.
    consent = ConsentFactory(status="pending", asset=MediaAssetFactory(face_count=0))

    response = _as(api, reviewer).post(
        reverse("licensing:api-review-consent", args=[consent.public_id]),
        {"decision": "approve"},
        format="json",
    )

    assert "identifiable_people" in _error(response, 400)["fields"]
    consent.refresh_from_db()
    assert consent.status == "pending"


def test_a_reviewer_rejects_a_consent_and_deciding_again_conflicts(api, reviewer):
    consent = ConsentFactory(status="pending")
    url = reverse("licensing:api-review-consent", args=[consent.public_id])
    _as(api, reviewer)

    rejected = api.post(url, {"decision": "reject", "reason": "not_owned"}, format="json")
    again = api.post(url, {"decision": "approve", "identifiable_people": 0}, format="json")

    assert (rejected.json()["status"], rejected.json()["rejection_reason"]) == ("rejected", "not_owned")
    assert _error(again, 409)["code"] == "conflict"


@pytest.mark.parametrize(
    "body",
    [
        {"decision": "approve", "identifiable_people": -1},
        {"decision": "approve", "identifiable_people": "several"},
        {"decision": "reject", "reason": "release_missing_or_not"},
        {"decision": "withdraw"},
    ],
)
def test_bad_consent_decisions_are_refused(api, reviewer, body):
    consent = ConsentFactory(status="pending")

    _error(
        _as(api, reviewer).post(
            reverse("licensing:api-review-consent", args=[consent.public_id]), body, format="json"
        ),
        400,
    )

    consent.refresh_from_db()
    assert consent.status == "pending"


@pytest.mark.parametrize("kind", ["consent", "release"])
def test_a_reviewer_who_creates_cannot_approve_their_own_work_through_the_api(api, reviewer, kind):
    own_profile = CreatorProfileFactory(user=reviewer)
    if kind == "consent":
        item = ConsentFactory(status="pending", asset=MediaAssetFactory(creator=own_profile))
        url = reverse("licensing:api-review-consent", args=[item.public_id])
        body = {"decision": "approve", "identifiable_people": 0}
    else:
        item = ReleaseFactory(creator=own_profile, status="submitted")
        url = reverse("licensing:api-review-release", args=[item.public_id])
        body = {"decision": "approve"}

    response = _as(api, reviewer).post(url, body, format="json")

    assert "your own" in _error(response, 403)["message"]
    item.refresh_from_db()
    assert item.status in ("pending", "submitted")


def test_a_narrowed_consent_names_the_texts_it_accepted_and_the_consent_it_replaces(api, creator):
    (asset,) = _assets(creator, 1)
    active = ConsentFactory(asset=asset, status="active")
    body = {
        "asset_ids": [str(asset.public_id)],
        "uses": {
            "data_mining": {"permission": "allowed"},
            "ai_inference": {"permission": "allowed"},
            "ai_training": {"permission": "allowed"},
            "ai_generative_training": {"permission": "notAllowed"},
        },
        "terms": ["research"],
    }

    response = _as(api, creator).post(reverse("licensing:api-consents"), body, format="json")

    (narrowed,) = response.json()["results"]
    assert (narrowed["status"], narrowed["replaces"]) == ("active", str(active.public_id))
    assert narrowed["terms"] == ["research"] and narrowed["terms_versions"] == {"research": 2}
