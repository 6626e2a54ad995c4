"""The append-only, hash-chained audit log: recording an entry, and walking the chain to check it."""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from core.actor import Actor

from .models import AuditEvent

GENESIS_HASH = "0" * 64
# Any constant: serializes appends on PostgreSQL, where two transactions could otherwise read the same tail.
CHAIN_LOCK_KEY = 7_101_453


def _canonical(value: Any) -> Any:
    """The value as it reads back from a JSON column, so a hash computed now matches one computed later."""
    return json.loads(json.dumps(value, default=str))


def entry_hash(
    *,
    sequence: int,
    occurred_at: str,
    actor_id: int | None,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    before: Any,
    after: Any,
    previous_hash: str,
) -> str:
    content = [
        sequence,
        occurred_at,
        actor_id,
        actor_label,
        action,
        object_type,
        object_id,
        before,
        after,
        previous_hash,
    ]
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _occurred_at_text(event: AuditEvent) -> str:
    return event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds")


@transaction.atomic
def audit_event_record(
    *,
    actor: Actor | None,
    action: str,
    object_type: str,
    object_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one entry to the chain; call it inside the transaction that makes the change it records."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    tail = AuditEvent.objects.order_by("-sequence").values_list("sequence", "entry_hash").first()
    sequence, previous_hash = (tail[0] + 1, tail[1]) if tail else (1, GENESIS_HASH)
    event = AuditEvent(
        sequence=sequence,
        occurred_at=timezone.now(),
        actor_id=actor.pk if actor is not None else None,
        actor_label=actor.email if actor is not None else "system",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=_canonical(before or {}),
        after=_canonical(after or {}),
        previous_hash=previous_hash,
    )
    event.entry_hash = _hash_of(event)
    event.save()
    return event


def _hash_of(event: AuditEvent) -> str:
    return entry_hash(
        sequence=event.sequence,
        occurred_at=_occurred_at_text(event),
        actor_id=event.actor_id,
        actor_label=event.actor_label,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        before=event.before,
        after=event.after,
        previous_hash=event.previous_hash,
    )


@dataclass(frozen=True)
class BrokenLink:
    sequence: int
    problem: str


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken: BrokenLink | None
    # The newest entry read: deleting entries from the end breaks no link, so operators keep these elsewhere.
    last_sequence: int = 0
    last_hash: str = GENESIS_HASH


def audit_chain_verify(*, batch_size: int = 2000) -> ChainReport:
    """Walk the chain in order and report the first entry that does not follow from the one before it."""
    expected_sequence, previous_hash, checked = 1, GENESIS_HASH, 0
    for event in _events_in_order(batch_size):
        checked += 1
        if event.sequence != expected_sequence:
            return ChainReport(
                checked, BrokenLink(expected_sequence, f"entry {expected_sequence} is missing")
            )
        if event.previous_hash != previous_hash:
            return ChainReport(
                checked,
                BrokenLink(
                    event.sequence, "its link to the entry before it does not match that entry's hash"
                ),
            )
        if _hash_of(event) != event.entry_hash:
            return ChainReport(
                checked, BrokenLink(event.sequence, "its content no longer matches its hash: it was changed")
            )
        expected_sequence, previous_hash = event.sequence + 1, event.entry_hash
    return ChainReport(checked, None, last_sequence=expected_sequence - 1, last_hash=previous_hash)


def _events_in_order(batch_size: int) -> Iterator[AuditEvent]:
    # Keyset batches: constant memory on a long chain, and no server-side cursor to keep open.
    after = 0
    while True:
        batch = list(AuditEvent.objects.filter(sequence__gt=after).order_by("sequence")[:batch_size])
        if not batch:
            return
        yield from batch
        after = batch[-1].sequence
