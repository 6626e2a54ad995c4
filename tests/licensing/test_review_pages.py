"""The reviewer pages: the queue, deciding on releases and consents, takedowns and the audit log."""

import datetime

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from creators.models import DuplicateFlag
from licensing import services
from licensing.audit import audit_event_record
from licensing.models import AuditEvent, Consent, LicenseTerms, Release, SelfIdentification
from licensing.signals import assets_withdrawn
from marketplace.tasks import email_send
from tests.factories import ConsentFactory, CreatorFactory, MediaAssetFactory, ReleaseFactory, ReviewerFactory

pytestmark = pytest.mark.django_db


def _ago(**delta: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**delta)


def _submitted_release(creator_user=None, *, waiting_hours: int = 1, **fields) -> Release:
    profile = (creator_user or CreatorFactory()).creator_profile
    assets = fields.pop("assets", None) or [MediaAssetFactory(creator=profile)]
    return ReleaseFactory(
        creator=profile, status="submitted", submitted_at=_ago(hours=waiting_hours), assets=assets, **fields
    )


def _pending_consent(creator_user=None, *, waiting_hours: int = 1, **asset_fields) -> Consent:
    profile = (creator_user or CreatorFactory()).creator_profile
    asset = MediaAssetFactory(creator=profile, **asset_fields)
    return ConsentFactory(asset=asset, status="pending", given_at=_ago(hours=waiting_hours))


def _review_urls() -> list[str]:
    release, consent = _submitted_release(), _pending_consent()
    return [
        reverse("licensing:review-queue"),
        reverse("licensing:review-release", args=[release.public_id]),
        reverse("licensing:review-consent", args=[consent.public_id]),
        reverse("licensing:audit-log"),
    ]


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- Who may review --------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client):
    for url in _review_urls():
        response = client.get(url)

        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", ["creator", "buyer"])
def test_creators_and_buyers_cannot_open_the_review_pages(client, request, role):
    client.force_login(request.getfixturevalue(role))

    for url in _review_urls():
        assert client.get(url).status_code == 403


@pytest.mark.parametrize("role", ["creator", "buyer"])
def test_creators_and_buyers_can_neither_decide_nor_take_down(client, request, role):
    release, consent = _submitted_release(), _pending_consent()
    client.force_login(request.getfixturevalue(role))

    decided = client.post(
        reverse("licensing:review-release", args=[release.public_id]), {"decision": "approve"}
    )
    taken_down = client.post(
        reverse("licensing:review-takedown", args=[consent.asset.public_id]), {"reason": "Stolen."}
    )

    assert (decided.status_code, taken_down.status_code) == (403, 403)
    release.refresh_from_db()
    consent.refresh_from_db()
    assert (release.status, consent.status) == ("submitted", "pending")


def test_reviewers_find_the_queue_and_the_audit_log_in_the_navigation(client, reviewer):
    client.force_login(reviewer)

    page = client.get(reverse("home")).content.decode()

    assert f'href="{reverse("licensing:review-queue")}"' in page
    assert f'href="{reverse("licensing:audit-log")}"' in page


# --- The queue -------------------------------------------------------------------------------------------


def test_the_queue_counts_what_waits_and_lists_releases_oldest_first(client, reviewer):
    newest = _submitted_release(waiting_hours=1)
    oldest = _submitted_release(waiting_hours=50)
    middle = _submitted_release(waiting_hours=5)
    ReleaseFactory(status="approved")
    _pending_consent(face_count=2)
    _pending_consent(ai_generated=True)
    ConsentFactory(status="active")
    client.force_login(reviewer)

    response = client.get(reverse("licensing:review-queue"))

    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [oldest, middle, newest]
    counts = response.context["counts"]
    assert (counts["releases"], counts["consents"], counts["with_faces"], counts["ai_generated"]) == (
        3,
        2,
        1,
        1,
    )
    assert "waiting 2\xa0days" in response.content.decode()  # the oldest one's age in the queue


def test_the_consents_tab_lists_consents_oldest_first_with_their_flags(client, reviewer):
    newer = _pending_consent(waiting_hours=2, face_count=3)
    older = _pending_consent(waiting_hours=9, ai_generated=True)
    client.force_login(reviewer)

    response = client.get(reverse("licensing:review-queue"), {"tab": "consents"})

    assert list(response.context["page"].object_list) == [older, newer]
    page = response.content.decode()
    assert "3 faces" in page
    assert "AI-generated" in page


def test_the_release_queue_filters_by_kind_and_by_capture_dates(client, reviewer):
    model = _submitted_release()
    flagged = _submitted_release(kind="property", property_description="A mural")
    flagged.capture_time_outside_shoot = [flagged.assets.get().pk]
    flagged.save()
    client.force_login(reviewer)

    by_kind = client.get(reverse("licensing:review-queue"), {"tab": "releases", "kind": "model"})
    by_dates = client.get(reverse("licensing:review-queue"), {"tab": "releases", "flagged_dates": "on"})

    assert list(by_kind.context["page"].object_list) == [model]
    assert list(by_dates.context["page"].object_list) == [flagged]
    assert "captured outside the shoot dates" in by_dates.content.decode()


@pytest.mark.parametrize("flag", ["with_faces", "with_duplicates", "ai_generated"])
def test_the_consent_queue_filters_by_flag(client, reviewer, flag):
    plain = _pending_consent()
    faces = _pending_consent(face_count=1)
    duplicate = _pending_consent()
    DuplicateFlag.objects.create(
        asset=duplicate.asset, other=MediaAssetFactory(), kind="exact", cross_account=True
    )
    generated = _pending_consent(ai_generated=True)
    expected = {"with_faces": faces, "with_duplicates": duplicate, "ai_generated": generated}[flag]
    client.force_login(reviewer)

    response = client.get(reverse("licensing:review-queue"), {"tab": "consents", flag: "on"})

    assert list(response.context["page"].object_list) == [expected]
    assert plain not in response.context["page"].object_list


def test_the_queue_is_paginated(client, reviewer):
    for hours in range(30):
        _pending_consent(waiting_hours=hours + 1)
    client.force_login(reviewer)

    first = client.get(reverse("licensing:review-queue"), {"tab": "consents"})
    second = client.get(reverse("licensing:review-queue"), {"tab": "consents", "page": 2})

    assert len(first.context["page"].object_list) == 25
    assert len(second.context["page"].object_list) == 5
    assert "tab=consents&amp;page=2" in first.content.decode()


def test_an_empty_queue_says_so(client, reviewer):
    client.force_login(reviewer)

    page = client.get(reverse("licensing:review-queue")).content.decode()

    assert "No releases are waiting for review." in page


# --- Releases --------------------------------------------------------------------------------------------


def test_the_release_page_shows_the_evidence_and_every_covered_asset(client, reviewer):
    profile = CreatorFactory().creator_profile
    assets = [MediaAssetFactory(creator=profile, face_count=1, preview="previews/a.jpg") for _ in range(2)]
    DuplicateFlag.objects.create(asset=assets[1], other=MediaAssetFactory(), kind="near", cross_account=True)
    release = ReleaseFactory(
        creator=profile,
        status="submitted",
        method="online",
        assets=assets,
        date_of_birth=datetime.date(2010, 1, 1),
        guardian_name="Gina Guardian",
        signed_ip="203.0.113.9",
        signed_user_agent="Firefox/140",
        signed_at=timezone.now(),
        wording_sha256="ab" * 32,
        biometric_consent=True,
        biometric_retention_until=datetime.date(2027, 5, 1),
        capture_time_outside_shoot=[assets[0].pk],
        signature="releases/x/sig.png",
        scan="releases/x/scan.pdf",
    )
    client.force_login(reviewer)

    page = client.get(reverse("licensing:review-release", args=[release.public_id])).content.decode()

    for text in ("Gina Guardian", "Minor at signing", "203.0.113.9", "Firefox/140", "ab" * 32, "1 May 2027"):
        assert text in page
    assert reverse("licensing:release-file", args=[release.public_id, "signature"]) in page
    assert 'type="application/pdf"' in page
    for asset in assets:
        assert reverse("creators:asset-file", args=[asset.public_id, "preview"]) in page
    assert "Captured outside the shoot dates" in page
    assert "Looks alike, another account" in page


def test_the_release_page_never_shows_what_the_person_said_about_themselves(client, reviewer):
    release = _submitted_release()
    SelfIdentification.objects.create(
        release=release, gender="Quokkafluid", ethnicity="Zzyzxian", age_range="30_44"
    )
    client.force_login(reviewer)

    page = client.get(reverse("licensing:review-release", args=[release.public_id])).content.decode()

    assert "Quokkafluid" not in page
    assert "Zzyzxian" not in page
    assert "30-44" not in page


def test_approving_a_release_goes_to_the_next_release_in_the_queue(client, reviewer):
    first = _submitted_release(waiting_hours=9)
    second = _submitted_release(waiting_hours=3)
    client.force_login(reviewer)

    response = client.post(
        reverse("licensing:review-release", args=[first.public_id]),
        {"decision": "approve", "approve-note": "All good."},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("licensing:review-release", args=[second.public_id])
    first.refresh_from_db()
    assert (first.status, first.reviewed_by, first.review_note) == ("approved", reviewer, "All good.")


def test_rejecting_a_release_records_the_reason_and_goes_on_to_waiting_consents(client, reviewer):
    release = _submitted_release()
    consent = _pending_consent()
    client.force_login(reviewer)

    response = client.post(
        reverse("licensing:review-release", args=[release.public_id]),
        {
            "decision": "reject",
            "reject-reason": "witness_invalid",
            "reject-note": "The witness is the model.",
        },
    )

    assert response["Location"] == reverse("licensing:review-consent", args=[consent.public_id])
    release.refresh_from_db()
    assert (release.status, release.rejection_reason) == ("rejected", "witness_invalid")


def test_rejecting_without_a_reason_is_a_form_error_and_changes_nothing(client, reviewer):
    release = _submitted_release()
    client.force_login(reviewer)

    response = client.post(
        reverse("licensing:review-release", args=[release.public_id]),
        {"decision": "reject", "reject-note": "x"},
    )

    assert response.status_code == 400
    assert response.context["reject_form"].errors["reason"] == ["Choose a reason for the rejection."]
    assert "Choose a reason for the rejection." in response.content.decode()
    release.refresh_from_db()
    assert release.status == "submitted"
    assert not AuditEvent.objects.filter(action="release.rejected").exists()


def test_rejecting_for_another_problem_needs_a_note(client, reviewer):
    release = _submitted_release()
    client.force_login(reviewer)

    response = client.post(
        reverse("licensing:review-release", args=[release.public_id]),
        {"decision": "reject", "reject-reason": "other"},
    )

    assert response.status_code == 400
    assert response.context["reject_form"].errors["note"]
    release.refresh_from_db()
    assert release.status == "submitted"


def test_deciding_an_already_decided_release_says_so_clearly(client, reviewer):
    release = _submitted_release()
    client.force_login(reviewer)
    url = reverse("licensing:review-release", args=[release.public_id])
    client.post(url, {"decision": "approve"})

    response = client.post(url, {"decision": "reject", "reject-reason": "name_mismatch"}, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == url
    assert "Not saved: This release is approved; it cannot become rejected." in _messages(response)
    assert "No decision needed" in response.content.decode()
    release.refresh_from_db()
    assert release.status == "approved"


def test_the_last_decision_returns_to_an_empty_queue_with_a_message(client, reviewer):
    release = _submitted_release()
    client.force_login(reviewer)

    response = client.post(
        reverse("licensing:review-release", args=[release.public_id]), {"decision": "approve"}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("licensing:review-queue")
    assert "The queue is empty: nothing is waiting for review." in _messages(response)


def test_the_creator_is_emailed_the_decision(
    client, reviewer, creator, mailoutbox, django_capture_on_commit_callbacks
):
    release = _submitted_release(creator, legal_name="Ada Model")
    client.force_login(reviewer)

    # The worker's part, done in this process: the task runs as soon as it is published after the commit.
    email_send.app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                reverse("licensing:review-release", args=[release.public_id]),
                {"decision": "reject", "reject-reason": "scan_unreadable", "reject-note": "Too dark."},
            )
    finally:
        email_send.app.conf.task_always_eager = False

    (email,) = mailoutbox
    assert email.to == [creator.email]
    assert email.subject == "Model release for Ada Model: needs changes"
    assert "The scan cannot be read" in email.body
    assert "Too dark." in email.body


# --- Consents --------------------------------------------------------------------------------------------


def test_the_consent_page_shows_the_asset_the_consent_and_what_blocks_a_sale(client, reviewer):
    consent = _pending_consent(
        face_count=2,
        preview="previews/p.jpg",
        metadata={"camera": {"make": "Fujifilm", "model": "X-T5"}},
    )
    other = MediaAssetFactory(thumbnail="thumbnails/o.jpg", title="The original")
    DuplicateFlag.objects.create(asset=consent.asset, other=other, kind="exact", cross_account=True)
    consent.ai_training = "constrained"
    consent.ai_training_constraint = "Only for accessibility research."
    consent.property_release_required = True
    consent.save()
    release = ReleaseFactory(
        creator=consent.asset.creator, status="submitted", assets=[consent.asset], legal_name="Bo Model"
    )
    client.force_login(reviewer)

    response = client.get(reverse("licensing:review-consent", args=[consent.public_id]))

    page = response.content.decode()
    assert "4000 \u00d7 3000 px" in page
    assert "Fujifilm · X-T5" in page
    assert "Only for accessibility research." in page
    assert "Allowed with a constraint" in page
    assert "Commercial including generative" in page
    assert reverse("creators:asset-file", args=[other.public_id, "thumbnail"]) in page
    assert "Another account" in page
    assert reverse("licensing:review-release", args=[release.public_id]) in page
    assert "The detectors found 2 people, 0 approved model releases." in page
    assert "It needs an approved property release." in page
    # The reviewer counts: no figure is filled in for them.
    assert response.context["approve_form"]["identifiable_people"].value() is None


def test_approving_a_consent_counts_the_detected_faces_by_default(client, reviewer):
    consent = _pending_consent(face_count=2)
    client.force_login(reviewer)

    client.post(
        reverse("licensing:review-consent", args=[consent.public_id]),
        {"decision": "approve", "approve-identifiable_people": "2"},
    )

    consent.refresh_from_db()
    assert (consent.status, consent.identifiable_people) == ("active", 2)


def test_approving_with_fewer_people_than_faces_needs_a_note(client, reviewer):
    consent = _pending_consent(face_count=3)
    client.force_login(reviewer)
    url = reverse("licensing:review-consent", args=[consent.public_id])

    refused = client.post(url, {"decision": "approve", "approve-identifiable_people": "1"})
    consent.refresh_from_db()
    assert refused.status_code == 400
    assert "say why fewer people are identifiable" in refused.context["approve_form"].errors["people_note"][0]
    assert consent.status == "pending"

    client.post(
        url,
        {
            "decision": "approve",
            "approve-identifiable_people": "1",
            "approve-people_note": "Two faces are on a poster in the background.",
        },
    )
    consent.refresh_from_db()
    assert (consent.status, consent.identifiable_people) == ("active", 1)


def test_rejecting_a_consent_records_the_reason(client, reviewer):
    consent = _pending_consent()
    client.force_login(reviewer)

    client.post(
        reverse("licensing:review-consent", args=[consent.public_id]),
        {"decision": "reject", "reject-reason": "duplicate"},
    )

    consent.refresh_from_db()
    assert (consent.status, consent.rejection_reason) == ("rejected", "duplicate")


def test_rejecting_a_consent_without_a_reason_is_a_form_error(client, reviewer):
    consent = _pending_consent()
    client.force_login(reviewer)

    response = client.post(
        reverse("licensing:review-consent", args=[consent.public_id]), {"decision": "reject"}
    )

    assert response.status_code == 400
    assert response.context["reject_form"].errors["reason"]
    consent.refresh_from_db()
    assert consent.status == "pending"


def test_a_consent_decision_goes_to_the_next_consent_first(client, reviewer):
    first = _pending_consent(waiting_hours=8)
    _submitted_release(waiting_hours=20)
    second = _pending_consent(waiting_hours=4)
    client.force_login(reviewer)

    response = client.post(
        reverse("licensing:review-consent", args=[first.public_id]),
        {"decision": "approve", "approve-identifiable_people": "0"},
    )

    assert response["Location"] == reverse("licensing:review-consent", args=[second.public_id])


def test_deciding_a_consent_withdrawn_meanwhile_says_so_clearly(client, reviewer, creator):
    consent = _pending_consent(creator)
    services.consents_withdraw(asset_ids=[consent.asset_id], actor=creator)
    client.force_login(reviewer)

    response = client.post(
        reverse("licensing:review-consent", args=[consent.public_id]),
        {"decision": "approve", "approve-identifiable_people": "0"},
        follow=True,
    )

    assert "Not saved: This consent is withdrawn; it cannot become active." in _messages(response)
    consent.refresh_from_db()
    assert consent.status == "withdrawn"


# --- Takedowns -------------------------------------------------------------------------------------------


def test_a_takedown_withdraws_consent_and_tells_the_layers_above(
    client, reviewer, django_capture_on_commit_callbacks
):
    consent = ConsentFactory(status="active")
    heard = []

    def receiver(**kwargs):
        heard.append(kwargs)

    assets_withdrawn.connect(receiver)
    client.force_login(reviewer)
    back = reverse("licensing:review-consent", args=[consent.public_id])
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("licensing:review-takedown", args=[consent.asset.public_id]),
                {"reason": "The photographer's agency reports it stolen.", "next": back},
            )
    finally:
        assets_withdrawn.disconnect(receiver)

    assert response["Location"] == back
    consent.refresh_from_db()
    assert (consent.status, consent.withdrawn_by) == ("withdrawn", reviewer)
    assert consent.withdrawal_reason == "The photographer's agency reports it stolen."
    (signal,) = heard
    assert signal["asset_ids"] == [consent.asset_id]
    assert signal["reason"] == "The photographer's agency reports it stolen."


def test_a_takedown_needs_a_reason(client, reviewer):
    consent = ConsentFactory(status="active")
    client.force_login(reviewer)

    response = client.post(
        reverse("licensing:review-takedown", args=[consent.asset.public_id]), {"reason": " "}, follow=True
    )

    assert "Not taken down: Say why the asset is taken down." in _messages(response)
    consent.refresh_from_db()
    assert consent.status == "active"


def test_a_takedown_never_redirects_off_site(client, reviewer):
    consent = ConsentFactory(status="active")
    client.force_login(reviewer)

    response = client.post(
        reverse("licensing:review-takedown", args=[consent.asset.public_id]),
        {"reason": "Stolen.", "next": "https://evil.example/"},
    )

    assert response["Location"] == reverse("licensing:review-queue")


def test_a_takedown_is_a_post(client, reviewer):
    consent = ConsentFactory(status="active")
    client.force_login(reviewer)

    assert client.get(reverse("licensing:review-takedown", args=[consent.asset.public_id])).status_code == 405


# --- Audit log -------------------------------------------------------------------------------------------


def test_the_audit_log_lists_events_newest_first_and_filters_by_object(client, reviewer):
    release = _submitted_release()
    services.release_approve(release=release, reviewer=reviewer, note="Fine.")
    audit_event_record(actor=None, action="asset.erased", object_type="asset", object_id=42)
    client.force_login(reviewer)

    everything = client.get(reverse("licensing:audit-log"))
    of_release = client.get(
        reverse("licensing:audit-log"), {"object_type": "release", "object_id": release.public_id}
    )

    sequences = [row["event"].sequence for row in everything.context["rows"]]
    assert sequences == sorted(sequences, reverse=True)
    assert [row["event"].action for row in of_release.context["rows"]] == ["release.approved"]
    page = of_release.content.decode()
    assert reviewer.email in page
    assert "&quot;status&quot;: &quot;approved&quot;" in page
    assert reverse("licensing:review-release", args=[release.public_id]) in page


def _three_entries() -> None:
    for n in range(3):
        audit_event_record(actor=None, action="test.event", object_type="asset", object_id=n)


def test_verifying_an_untouched_chain_reports_it_intact(client, reviewer):
    _three_entries()
    client.force_login(reviewer)

    response = client.post(reverse("licensing:audit-log"), follow=True)

    assert any(
        m.startswith("The chain is intact: 3 entries checked; the newest is 3, hash ")
        for m in _messages(response)
    )


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL's trigger refuses the tampering itself")
def test_verifying_a_tampered_chain_names_the_broken_entry(client, reviewer):
    _three_entries()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE licensing_auditevent SET action = 'test.rewritten' WHERE sequence = 2")
    client.force_login(reviewer)

    response = client.post(reverse("licensing:audit-log"), follow=True)

    assert (
        "The chain is broken at entry 2: its content no longer matches its hash: it was changed."
        in _messages(response)
    )


# --- Staff admin -----------------------------------------------------------------------------------------


@pytest.fixture
def staff_reviewer(db):
    return ReviewerFactory(is_superuser=True)


def test_the_audit_log_cannot_be_added_to_changed_or_deleted_in_the_admin(client, staff_reviewer):
    event = audit_event_record(actor=None, action="test.event", object_type="asset", object_id=1)
    client.force_login(staff_reviewer)

    listing = client.get(reverse("admin:licensing_auditevent_changelist"))
    detail = client.get(reverse("admin:licensing_auditevent_change", args=[event.pk]))

    assert listing.status_code == detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert client.get(reverse("admin:licensing_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:licensing_auditevent_delete", args=[event.pk])).status_code == 403
    client.post(reverse("admin:licensing_auditevent_change", args=[event.pk]), {"action": "test.rewritten"})
    event.refresh_from_db()
    assert event.action == "test.event"


def test_an_admin_action_approves_releases_through_the_service(client, staff_reviewer):
    waiting, decided = _submitted_release(), ReleaseFactory(status="approved")
    client.force_login(staff_reviewer)

    response = client.post(
        reverse("admin:licensing_release_changelist"),
        {"action": "approve", "_selected_action": [waiting.pk, decided.pk]},
        follow=True,
    )

    waiting.refresh_from_db()
    assert (waiting.status, waiting.reviewed_by) == ("approved", staff_reviewer)
    assert AuditEvent.objects.filter(action="release.approved", object_id=str(waiting.public_id)).exists()
    shown = _messages(response)
    assert "1 release(s) approved." in shown
    assert any("it cannot become approved" in message for message in shown)


def test_an_admin_action_takes_consents_down(client, staff_reviewer):
    consent = ConsentFactory(status="active")
    client.force_login(staff_reviewer)

    client.post(
        reverse("admin:licensing_consent_changelist"),
        {"action": "take_down", "_selected_action": [consent.pk]},
    )

    consent.refresh_from_db()
    assert (consent.status, consent.withdrawn_by) == ("withdrawn", staff_reviewer)


def test_license_terms_get_a_new_version_in_the_admin_and_keep_the_old_one(client, staff_reviewer):
    terms = LicenseTerms.objects.get(slug="research")
    first, second = terms.versions.order_by("version")
    client.force_login(staff_reviewer)

    response = client.post(
        reverse("admin:licensing_licenseterms_change", args=[terms.pk]),
        {
            "name": terms.name,
            "summary": terms.summary,
            "position": terms.position,
            "new_version_text": "Research use only. Version two.",
            "versions-TOTAL_FORMS": "2",
            "versions-INITIAL_FORMS": "2",
            "versions-MIN_NUM_FORMS": "0",
            "versions-MAX_NUM_FORMS": "1000",
            "versions-0-id": second.pk,
            "versions-0-terms": terms.pk,
            "versions-1-id": first.pk,
            "versions-1-terms": terms.pk,
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert [v.version for v in terms.versions.order_by("version")] == [1, 2, 3]
    first.refresh_from_db()
    assert first.text != "Research use only. Version two."
    assert AuditEvent.objects.filter(action="license_terms.published").count() == 1


def test_the_admin_shows_releases_and_consents_read_only_without_self_identification(client, staff_reviewer):
    release = _submitted_release()
    SelfIdentification.objects.create(release=release, ethnicity="Zzyzxian")
    consent = _pending_consent()
    client.force_login(staff_reviewer)

    release_page = client.get(reverse("admin:licensing_release_change", args=[release.pk]))
    consent_page = client.get(reverse("admin:licensing_consent_change", args=[consent.pk]))

    assert release_page.status_code == consent_page.status_code == 200
    assert "Zzyzxian" not in release_page.content.decode()
    assert 'name="_save"' not in release_page.content.decode() + consent_page.content.decode()
    assert reverse("licensing:review-release", args=[release.public_id]) in release_page.content.decode()
