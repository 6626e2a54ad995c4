"""The audit log is append-only and hash-chained (DESIGN.md invariant 3); published license texts never change."""

import contextlib
import datetime
import hashlib
import io
import json
import uuid
from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction

from licensing.audit import GENESIS_HASH, audit_event_record, entry_hash
from licensing.models import AuditEvent, LicenseTerms, LicenseTermsVersion
from licensing.services import license_terms_version_publish

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the database's own refusal is a PostgreSQL trigger"
)


def record(count: int) -> list[AuditEvent]:
    return [
        audit_event_record(
            actor=None,
            action="release.approved",
            object_type="release",
            object_id=f"release-{index}",
            before={"status": "submitted"},
            after={"status": "approved", "note": f"checked {index}"},
        )
        for index in range(1, count + 1)
    ]


def audit_verify() -> str:
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


@contextlib.contextmanager
def append_only_lifted() -> Iterator[None]:
    """What an attacker with the table owner's rights does first on PostgreSQL: switch the triggers off."""
    postgresql = connection.vendor == "postgresql"
    if postgresql:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE licensing_auditevent DISABLE TRIGGER USER")
    yield
    if postgresql:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE licensing_auditevent ENABLE TRIGGER USER")


def tamper(sql: str, params: list) -> None:
    with append_only_lifted(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def json_update_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"UPDATE licensing_auditevent SET {column} = %s::jsonb WHERE sequence = %s"  # noqa: S608
    return f"UPDATE licensing_auditevent SET {column} = %s WHERE sequence = %s"  # noqa: S608


# --- The chain ------------------------------------------------------------------------------------------------


def test_entries_are_numbered_and_each_links_to_the_one_before():
    first, second, third = record(3)

    assert [first.sequence, second.sequence, third.sequence] == [1, 2, 3]
    assert first.previous_hash == GENESIS_HASH
    assert (second.previous_hash, third.previous_hash) == (first.entry_hash, second.entry_hash)


def test_an_entry_records_the_actor_by_id_and_by_label(reviewer):
    entry = audit_event_record(actor=reviewer, action="consent.approved", object_type="consent", object_id=7)

    assert (entry.actor_id, entry.actor_label, entry.object_id) == (reviewer.pk, reviewer.email, "7")


def test_an_entry_without_an_actor_is_the_systems():
    (entry,) = record(1)

    assert (entry.actor_id, entry.actor_label) == (None, "system")


def test_an_intact_chain_is_reported_intact():
    record(3)

    assert "Audit log intact: 3 entries" in audit_verify()


def test_an_empty_log_is_intact():
    assert "Audit log intact: 0 entries" in audit_verify()


def test_values_stored_as_json_hash_the_same_when_read_back():
    audit_event_record(
        actor=None,
        action="release.signed_online",
        object_type="release",
        object_id="r",
        after={
            "signed_at": datetime.datetime(2026, 5, 3, 10, 0, 0, 123456, tzinfo=datetime.UTC),
            "name": "Zoë Ñúñez 山田",
            "assets": [3, 1, 2],
            "nested": {"b": 1.5, "a": None, "flag": True},
        },
    )

    assert "Audit log intact: 1 entries" in audit_verify()


# --- Tampering is detected ------------------------------------------------------------------------------------


def test_a_changed_entry_is_detected_and_named():
    record(3)
    tamper("UPDATE licensing_auditevent SET action = %s WHERE sequence = %s", ["release.rejected", 2])

    with pytest.raises(CommandError, match=r"broken at entry 2: its content no longer matches its hash"):
        audit_verify()


def test_a_changed_json_value_is_detected():
    record(3)
    tamper(json_update_sql("after"), [json.dumps({"status": "approved", "note": "nothing to see"}), 3])

    with pytest.raises(CommandError, match=r"broken at entry 3"):
        audit_verify()


def test_a_deleted_entry_in_the_middle_is_detected():
    record(3)
    tamper("DELETE FROM licensing_auditevent WHERE sequence = %s", [2])

    with pytest.raises(CommandError, match=r"broken at entry 2: entry 2 is missing"):
        audit_verify()


def test_a_changed_link_is_detected():
    record(3)
    tamper("UPDATE licensing_auditevent SET previous_hash = %s WHERE sequence = %s", ["f" * 64, 2])

    with pytest.raises(CommandError, match=r"broken at entry 2: its link to the entry before it"):
        audit_verify()


def test_an_entry_rewritten_with_a_fresh_hash_breaks_the_next_link():
    first, second, _third = record(3)
    forged = entry_hash(
        sequence=2,
        occurred_at=second.occurred_at.astimezone(datetime.UTC).isoformat(timespec="microseconds"),
        actor_id=None,
        actor_label="system",
        action="release.rejected",
        object_type=second.object_type,
        object_id=second.object_id,
        before=second.before,
        after=second.after,
        previous_hash=first.entry_hash,
    )
    tamper(
        "UPDATE licensing_auditevent SET action = %s, entry_hash = %s WHERE sequence = %s",
        ["release.rejected", forged, 2],
    )

    with pytest.raises(CommandError, match=r"broken at entry 3: its link to the entry before it"):
        audit_verify()


# --- The ORM refuses to rewrite history, on every database -----------------------------------------------------


def test_saving_an_existing_entry_is_refused():
    (entry,) = record(1)
    entry.action = "release.rejected"

    with pytest.raises(TypeError, match="append-only"):
        entry.save()

    assert AuditEvent.objects.get().action == "release.approved"


def test_deleting_an_entry_is_refused():
    (entry,) = record(1)

    with pytest.raises(TypeError, match="append-only"):
        entry.delete()

    assert AuditEvent.objects.count() == 1


def test_updating_entries_through_a_queryset_is_refused():
    record(2)

    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.filter(sequence=1).update(action="release.rejected")


def test_deleting_entries_through_a_queryset_is_refused():
    record(2)

    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.all().delete()

    assert AuditEvent.objects.count() == 2


def test_a_bulk_update_of_entries_is_refused():
    entries = record(2)
    for entry in entries:
        entry.action = "release.rejected"

    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.bulk_update(entries, ["action"])


def test_a_new_entry_reusing_an_existing_id_cannot_overwrite_it():
    (entry,) = record(1)
    impostor = AuditEvent(
        pk=entry.pk,
        sequence=entry.sequence,
        occurred_at=entry.occurred_at,
        actor_label="system",
        action="release.rejected",
        object_type=entry.object_type,
        object_id=entry.object_id,
        previous_hash=entry.previous_hash,
        entry_hash=entry.entry_hash,
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        impostor.save()

    assert AuditEvent.objects.get().action == "release.approved"


# --- PostgreSQL refuses raw SQL too ----------------------------------------------------------------------------


@postgresql_only
@pytest.mark.parametrize(
    "sql", ["UPDATE licensing_auditevent SET action = 'release.rejected'", "DELETE FROM licensing_auditevent"]
)
def test_postgresql_refuses_raw_sql_that_rewrites_the_log(sql):
    record(2)

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)

    assert AuditEvent.objects.count() == 2
    assert "intact" in audit_verify()


@postgresql_only
def test_postgresql_refuses_truncating_the_log_to_a_role_that_does_not_own_it():
    # The site runs as such a role (docs/operations.md); TRUNCATE is left to the owner, who runs migrations.
    record(2)
    site_role = f"site_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {site_role} NOLOGIN")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON licensing_auditevent TO {site_role}")

    with (
        pytest.raises(DatabaseError, match="permission denied"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"SET LOCAL ROLE {site_role}")
        cursor.execute("TRUNCATE licensing_auditevent")

    assert AuditEvent.objects.count() == 2


@postgresql_only
def test_postgresql_refuses_changing_a_published_license_text():
    version = LicenseTermsVersion.objects.get(terms__slug="research", version=1)

    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        LicenseTermsVersion.objects.filter(pk=version.pk).update(text="Anything goes.")

    assert LicenseTermsVersion.objects.get(pk=version.pk).text == version.text


@postgresql_only
def test_postgresql_refuses_renumbering_a_published_license_text():
    version = LicenseTermsVersion.objects.get(terms__slug="research", version=1)

    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        LicenseTermsVersion.objects.filter(pk=version.pk).update(version=7)


# --- Publishing license terms ------------------------------------------------------------------------------------


def test_publishing_terms_creates_the_next_version_and_leaves_the_last_untouched(reviewer):
    terms = LicenseTerms.objects.get(slug="research")
    first = LicenseTermsVersion.objects.get(terms=terms, version=1)

    # Versions 1 and 2 come with the site; this is the third.
    third = license_terms_version_publish(terms=terms, text="  The third text.  ", actor=reviewer)

    assert (third.version, third.text) == (3, "The third text.")
    assert third.text_sha256 == hashlib.sha256(b"The third text.").hexdigest()
    unchanged = LicenseTermsVersion.objects.get(pk=first.pk)
    assert (unchanged.version, unchanged.text, unchanged.text_sha256) == (1, first.text, first.text_sha256)


def test_publishing_terms_is_audited(reviewer):
    terms = LicenseTerms.objects.get(slug="commercial")

    version = license_terms_version_publish(terms=terms, text="Version two.", actor=reviewer)

    entry = AuditEvent.objects.get(action="license_terms.published")
    assert entry.after == {"terms": "commercial", "version": 3, "text_sha256": version.text_sha256}


def test_an_empty_license_text_is_refused(reviewer):
    terms = LicenseTerms.objects.get(slug="research")

    with pytest.raises(ValidationError):
        license_terms_version_publish(terms=terms, text="   ", actor=reviewer)

    assert terms.versions.count() == 2
