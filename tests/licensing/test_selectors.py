"""sellable_assets, clause by clause (DESIGN.md invariant 1), and the k-anonymous self-identification counts."""

import datetime

import pytest
from django.utils import timezone

from licensing.models import LicenseTerms, Permission, SelfIdentification, Use
from licensing.selectors import (
    K_ANONYMITY,
    Sellability,
    asset_sellability,
    self_identification_aggregate,
    sellable_assets,
)
from tests.factories import ConsentFactory, MediaAssetFactory, ReleaseFactory

pytestmark = pytest.mark.django_db

TRAINING = [Use.AI_TRAINING]


def is_sellable(asset, **criteria) -> bool:  # type: ignore[no-untyped-def]
    return sellable_assets(**{"uses": TRAINING, **criteria}).filter(pk=asset.pk).exists()


def consented_asset(*, consent: dict | None = None, **asset_fields):  # type: ignore[no-untyped-def]
    """A ready asset with an active consent allowing every use under every tier, unless told otherwise."""
    asset = MediaAssetFactory(**asset_fields)
    ConsentFactory(asset=asset, **(consent or {}))
    return asset


def model_release(asset, status: str = "approved", **fields):  # type: ignore[no-untyped-def]
    return ReleaseFactory(creator=asset.creator, kind="model", status=status, assets=[asset], **fields)


# --- Invariant 1, one clause at a time ------------------------------------------------------------------------


def test_a_ready_asset_with_active_consent_showing_no_one_is_sellable():
    assert is_sellable(consented_asset())


@pytest.mark.parametrize("status", ["uploaded", "processing", "rejected"])
def test_an_asset_ingest_has_not_made_ready_is_not_sellable(status):
    assert not is_sellable(consented_asset(status=status))


def test_an_erased_asset_is_not_sellable():
    assert not is_sellable(consented_asset(erased_at=timezone.now()))


def test_an_asset_without_consent_is_not_sellable():
    assert not is_sellable(MediaAssetFactory())


@pytest.mark.parametrize("status", ["pending", "rejected", "withdrawn"])
def test_an_asset_whose_consent_is_not_active_is_not_sellable(status):
    assert not is_sellable(consented_asset(consent={"status": status}))


def test_an_asset_is_not_sellable_for_a_use_its_consent_does_not_allow():
    asset = consented_asset(consent={"ai_training": Permission.NOT_ALLOWED})

    assert not is_sellable(asset, uses=[Use.AI_TRAINING])
    assert is_sellable(asset, uses=[Use.DATA_MINING])


def test_an_asset_must_allow_every_use_sold_together():
    asset = consented_asset(consent={"ai_inference": Permission.NOT_ALLOWED})

    assert not is_sellable(asset, uses=[Use.DATA_MINING, Use.AI_INFERENCE])


def test_a_constrained_use_is_sold_only_when_the_caller_carries_the_constraint():
    asset = consented_asset(
        consent={"ai_training": Permission.CONSTRAINED, "ai_training_constraint": "No surveillance."}
    )

    assert not is_sellable(asset)
    assert is_sellable(asset, accept_constrained=True)


def test_a_not_allowed_use_stays_unsellable_when_constraints_are_accepted():
    asset = consented_asset(consent={"ai_training": Permission.NOT_ALLOWED})

    assert not is_sellable(asset, accept_constrained=True)


def test_an_identifiable_person_without_a_model_release_makes_an_asset_unsellable():
    assert not is_sellable(consented_asset(face_count=1))


def test_every_identifiable_person_needs_an_approved_model_release():
    asset = consented_asset(face_count=2)
    model_release(asset)

    assert not is_sellable(asset)
    model_release(asset)
    assert is_sellable(asset)


@pytest.mark.parametrize("status", ["awaiting_signature", "submitted", "rejected"])
def test_a_model_release_not_yet_approved_does_not_count(status):
    asset = consented_asset(face_count=1)
    model_release(asset, status=status)

    assert not is_sellable(asset)


def test_a_model_release_for_another_asset_does_not_count():
    asset = consented_asset(face_count=1)
    model_release(MediaAssetFactory(creator=asset.creator))

    assert not is_sellable(asset)


def test_a_property_release_does_not_stand_for_a_person():
    asset = consented_asset(face_count=1)
    ReleaseFactory(creator=asset.creator, kind="property", assets=[asset])

    assert not is_sellable(asset)


def test_the_reviewers_count_of_people_overrides_the_face_detector():
    nobody_identifiable = consented_asset(face_count=2, consent={"identifiable_people": 0})
    someone_undetected = consented_asset(face_count=0, consent={"identifiable_people": 1})

    assert is_sellable(nobody_identifiable)
    assert not is_sellable(someone_undetected)


def test_an_asset_needing_a_property_release_is_unsellable_without_an_approved_one():
    asset = consented_asset(consent={"property_release_required": True})
    ReleaseFactory(creator=asset.creator, kind="property", status="submitted", assets=[asset])

    assert not is_sellable(asset)


def test_an_approved_property_release_makes_such_an_asset_sellable():
    asset = consented_asset(consent={"property_release_required": True})
    ReleaseFactory(creator=asset.creator, kind="property", assets=[asset])

    assert is_sellable(asset)


@pytest.mark.parametrize("kind", ["model", "property"])
def test_a_revoked_release_makes_an_asset_unsellable_whatever_else_is_approved(kind):
    asset = consented_asset(face_count=1)
    model_release(asset)
    ReleaseFactory(creator=asset.creator, kind=kind, status="revoked", assets=[asset])

    assert not is_sellable(asset)


# --- License terms ---------------------------------------------------------------------------------------------


def test_an_asset_is_sold_only_under_terms_its_creator_accepted():
    research, commercial = (
        LicenseTerms.objects.get(slug="research"),
        LicenseTerms.objects.get(slug="commercial"),
    )
    asset = MediaAssetFactory()
    ConsentFactory(asset=asset, accepted_terms=[research])

    assert is_sellable(asset, uses=[], terms=research)
    assert not is_sellable(asset, uses=[], terms=commercial)


def test_terms_require_every_use_of_their_tier():
    generative = LicenseTerms.objects.get(slug="commercial-generative")
    commercial = LicenseTerms.objects.get(slug="commercial")
    asset = consented_asset(consent={"ai_generative_training": Permission.NOT_ALLOWED})

    assert not is_sellable(asset, uses=[], terms=generative)
    assert is_sellable(asset, uses=[], terms=commercial)


def test_an_unknown_use_is_an_error():
    with pytest.raises(ValueError, match="Unknown uses"):
        sellable_assets(uses=["world_domination"])


# --- Face recognition -------------------------------------------------------------------------------------------


def _biometric(days_left: int) -> dict:
    return {
        "biometric_consent": True,
        "biometric_retention_until": timezone.localdate() + datetime.timedelta(days=days_left),
    }


def test_face_recognition_needs_biometric_consent_from_every_person():
    asset = consented_asset(face_count=2)
    model_release(asset, **_biometric(30))
    model_release(asset)

    assert is_sellable(asset)
    assert not is_sellable(asset, face_recognition=True)


def test_face_recognition_is_allowed_when_every_person_gave_biometric_consent():
    asset = consented_asset(face_count=2)
    model_release(asset, **_biometric(30))
    model_release(asset, **_biometric(0))

    assert is_sellable(asset, face_recognition=True)


def test_face_recognition_stops_when_a_retention_period_has_ended():
    asset = consented_asset(face_count=1)
    model_release(asset, **_biometric(-1))

    assert is_sellable(asset)
    assert not is_sellable(asset, face_recognition=True)


def test_an_asset_showing_no_one_may_be_sold_for_face_recognition():
    assert is_sellable(consented_asset(), face_recognition=True)


# --- Self-identification in aggregate ---------------------------------------------------------------------------


def people_saying(asset_ids: list, count: int, *, status: str = "approved", **said: str) -> None:
    """`count` people, each with their own release covering the assets, each saying `said` of themselves."""
    assets = list(MediaAssetFactory._meta.model.objects.filter(pk__in=asset_ids))
    for _ in range(count):
        release = ReleaseFactory(creator=assets[0].creator, status=status, assets=assets)
        SelfIdentification.objects.create(release=release, **said)


@pytest.fixture
def shoot():
    return [MediaAssetFactory().pk]


def test_a_group_smaller_than_the_threshold_is_not_shown(shoot):
    people_saying(shoot, K_ANONYMITY - 1, gender="woman")

    assert self_identification_aggregate(asset_ids=shoot)["gender"] == {}


def test_a_group_at_the_threshold_is_shown_with_its_count(shoot):
    people_saying(shoot, K_ANONYMITY, gender="woman")

    assert self_identification_aggregate(asset_ids=shoot)["gender"] == {"woman": K_ANONYMITY}


def test_small_groups_are_merged_when_together_they_reach_the_threshold(shoot):
    people_saying(shoot, 6, ethnicity="Portuguese")
    people_saying(shoot, 3, ethnicity="Cape Verdean")
    people_saying(shoot, 2, ethnicity="Brazilian")

    assert self_identification_aggregate(asset_ids=shoot)["ethnicity"] == {"portuguese": 6, "other groups": 5}


def test_small_groups_stay_hidden_when_together_they_are_still_too_few(shoot):
    people_saying(shoot, 6, ethnicity="Portuguese")
    people_saying(shoot, 2, ethnicity="Cape Verdean")
    people_saying(shoot, 2, ethnicity="Brazilian")

    assert self_identification_aggregate(asset_ids=shoot)["ethnicity"] == {"portuguese": 6}


def test_no_figure_shown_is_ever_below_the_threshold(shoot):
    for size, age_range in zip(
        [1, 2, 4, 5, 7], ["under_18", "18_29", "30_44", "45_64", "65_plus"], strict=True
    ):
        people_saying(shoot, size, age_range=age_range)

    shown = self_identification_aggregate(asset_ids=shoot)["age_range"]

    assert shown == {"65_plus": 7, "other groups": 7, "45_64": 5}
    assert min(shown.values()) >= K_ANONYMITY


def test_a_person_shown_in_several_assets_counts_once():
    assets = [MediaAssetFactory().pk for _ in range(3)]
    people_saying(assets, K_ANONYMITY, gender="man")

    assert self_identification_aggregate(asset_ids=assets)["gender"] == {"man": K_ANONYMITY}


def test_answers_differing_only_in_case_and_spaces_are_one_group(shoot):
    for said in [" Woman", "woman", "WOMAN ", "WoMaN", "woman"]:
        people_saying(shoot, 1, gender=said)

    assert self_identification_aggregate(asset_ids=shoot)["gender"] == {"woman": 5}


@pytest.mark.parametrize("status", ["submitted", "rejected", "revoked"])
def test_only_people_with_an_approved_release_are_counted(shoot, status):
    people_saying(shoot, K_ANONYMITY - 1, gender="woman")
    people_saying(shoot, 1, gender="woman", status=status)

    assert self_identification_aggregate(asset_ids=shoot)["gender"] == {}


def test_people_in_other_assets_are_not_counted(shoot):
    people_saying(shoot, K_ANONYMITY - 1, gender="woman")
    people_saying([MediaAssetFactory().pk], 1, gender="woman")

    assert self_identification_aggregate(asset_ids=shoot)["gender"] == {}


def test_an_asset_waiting_for_a_broader_consent_stays_sellable_under_the_active_one(creator):
    asset = MediaAssetFactory(creator=creator.creator_profile)
    ConsentFactory(asset=asset, status="active", ai_generative_training="notAllowed")
    ConsentFactory(asset=asset, status="pending")

    assert asset_sellability(asset=asset) == Sellability(sellable=True, problems=[])
