"""A consent names the exact text of the terms it accepted; a newer text applies once the creator accepts it."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from licensing.models import AuditEvent, Consent, LicenseTerms, Permission, Use
from licensing.selectors import sellable_assets, terms_updates_for_creator
from licensing.services import (
    UsePermission,
    consents_give,
    license_terms_version_publish,
    terms_version_accept,
)
from tests.factories import ConsentFactory, MediaAssetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def research() -> LicenseTerms:
    return LicenseTerms.objects.get(slug="research")


def _newer_text(terms: LicenseTerms) -> str:
    return (
        terms.versions.order_by("-version").first().text
        + "\n\n9. Licensees delete samples within 30 days of a notice."
    )


def test_a_consent_records_the_text_in_force_when_it_is_given(creator, research):
    asset = MediaAssetFactory(creator=creator.creator_profile)

    (consent,) = consents_give(
        creator=creator.creator_profile,
        asset_ids=[asset.pk],
        permissions={use: UsePermission(Permission.ALLOWED) for use in Use.values},
        terms=[research],
        actor=creator,
    )

    assert list(consent.accepted_terms_versions.all()) == [research.versions.order_by("-version").first()]


def test_a_newer_text_sells_the_asset_only_once_its_creator_accepts_it(creator, research):
    consent = ConsentFactory(
        asset=MediaAssetFactory(creator=creator.creator_profile), accepted_terms=[research]
    )
    before = research.versions.order_by("-version").first().published_at
    newer = license_terms_version_publish(terms=research, text=_newer_text(research))

    assert not sellable_assets(terms=research).filter(pk=consent.asset_id).exists()
    # Versions sealed under the earlier text keep selling what was consented then.
    assert sellable_assets(terms=research, as_of=before).filter(pk=consent.asset_id).exists()

    accepted = terms_version_accept(creator=creator.creator_profile, terms_version=newer, actor=creator)

    assert accepted == 1
    assert sellable_assets(terms=research).filter(pk=consent.asset_id).exists()
    consent.refresh_from_db()
    assert consent.status == Consent.Status.ACTIVE  # nothing to review: the consent itself did not change
    assert AuditEvent.objects.filter(action="license_terms.accepted").count() == 1


def test_accepting_a_text_that_is_no_longer_the_newest_is_refused(creator, research):
    ConsentFactory(asset=MediaAssetFactory(creator=creator.creator_profile), accepted_terms=[research])
    second = license_terms_version_publish(terms=research, text=_newer_text(research))
    license_terms_version_publish(terms=research, text=second.text + "\n10. And one more clause.")

    with pytest.raises(ValidationError, match="newer text"):
        terms_version_accept(creator=creator.creator_profile, terms_version=second, actor=creator)


def test_the_page_shows_what_changed_and_accepts_for_every_asset_in_one_click(client, creator, research):
    consents = [
        ConsentFactory(asset=MediaAssetFactory(creator=creator.creator_profile), accepted_terms=[research])
        for _ in range(3)
    ]
    newer = license_terms_version_publish(terms=research, text=_newer_text(research))
    client.force_login(creator)

    page = client.get(reverse("licensing:terms-updates")).content.decode()
    consent_page = client.get(reverse("licensing:consent-manage")).content.decode()
    response = client.post(reverse("licensing:terms-updates"), {"terms_version": newer.pk}, follow=True)

    assert "+ 9. Licensees delete samples within 30 days of a notice." in page
    assert f"Accept version {newer.version} for your 3 items" in page
    assert reverse("licensing:terms-updates") in consent_page
    assert "You accepted" in response.content.decode()
    assert all(consent.accepted_terms_versions.filter(pk=newer.pk).exists() for consent in consents)
    assert terms_updates_for_creator(creator=creator.creator_profile) == []


def test_another_creators_consents_are_not_touched(creator, research):
    theirs = ConsentFactory(accepted_terms=[research])
    ConsentFactory(asset=MediaAssetFactory(creator=creator.creator_profile), accepted_terms=[research])
    newer = license_terms_version_publish(terms=research, text=_newer_text(research))

    terms_version_accept(creator=creator.creator_profile, terms_version=newer, actor=creator)

    assert not theirs.accepted_terms_versions.filter(pk=newer.pk).exists()
