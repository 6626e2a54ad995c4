"""The revenue ledger: each fulfilled sale split between the platform's fee and the creators, to the cent.

Money is integer cents throughout (DESIGN.md, invariant 4). A sale's amount is divided among the fee and
each creator whose assets are in the version sold, weighed by how many of its samples are theirs, with the
largest-remainder method: every part is its exact value rounded down, and the cents left over go one each
to the parts that lost the most by rounding. The parts then sum to the amount exactly, and none is a whole
cent away from its exact value.
"""

from collections.abc import Hashable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Count

from datasets.models import VersionItem
from marketplace.models import LedgerEntry, Order, Payout

BASIS_POINTS = 10_000

CreatorKey = TypeVar("CreatorKey", bound=Hashable)


def platform_fee_basis_points() -> int:
    """settings.PLATFORM_FEE_PERCENT as an integer of basis points (20 -> 2000), so no float touches money."""
    raw = settings.PLATFORM_FEE_PERCENT
    try:
        basis_points = Decimal(str(raw)) * 100
    except InvalidOperation as error:
        raise ImproperlyConfigured(f"PLATFORM_FEE_PERCENT {raw!r} is not a number.") from error
    if basis_points != basis_points.to_integral_value() or not 0 <= basis_points <= BASIS_POINTS:
        raise ImproperlyConfigured(
            f"PLATFORM_FEE_PERCENT {raw!r} must be a percentage from 0 to 100 with at most two decimals."
        )
    return int(basis_points)


def revenue_split(
    *, amount_cents: int, fee_basis_points: int, item_counts: Mapping[CreatorKey, int]
) -> tuple[int, dict[CreatorKey, int]]:
    """The platform's fee and each creator's share of `amount_cents`, summing to it exactly.

    Shares are pro rata by `item_counts`; with no items to weigh by, the whole amount is the fee. Ties in
    the remainders go to creators before the platform, then in the mapping's order, so a split is repeatable.
    """
    if amount_cents < 0 or not 0 <= fee_basis_points <= BASIS_POINTS:
        raise ValueError("The amount must be non-negative and the fee between 0 and 10,000 basis points.")
    if any(count < 0 for count in item_counts.values()):
        raise ValueError("Item counts must be non-negative.")
    total_items = sum(item_counts.values())
    if total_items == 0:
        return amount_cents, {creator: 0 for creator in item_counts}
    # Every exact part as a fraction over one common denominator, so rounding is integer arithmetic only.
    denominator = BASIS_POINTS * total_items
    creator_basis_points = BASIS_POINTS - fee_basis_points
    numerators: list[int] = [
        amount_cents * creator_basis_points * count for count in item_counts.values()
    ] + [amount_cents * fee_basis_points * total_items]
    parts = [numerator // denominator for numerator in numerators]
    left_over = amount_cents - sum(parts)
    # Largest remainder first; Python's sort is stable, so equal remainders keep creators-then-fee order.
    by_remainder = sorted(range(len(parts)), key=lambda index: numerators[index] % denominator, reverse=True)
    for index in by_remainder[:left_over]:
        parts[index] += 1
    *shares, fee = parts
    return fee, dict(zip(item_counts, shares, strict=True))


def _item_counts_by_creator(order: Order) -> dict[int, int]:
    """How many of the order's version's samples each creator's assets make up, by creator id."""
    rows = (
        VersionItem.objects.filter(version_id=order.version_id, asset__isnull=False)
        .values("asset__creator_id")
        .annotate(items=Count("pk"))
        .order_by("asset__creator_id")
    )
    # Samples whose asset row is gone cannot be attributed to anyone: their part stays with the platform.
    return {row["asset__creator_id"]: row["items"] for row in rows}


def payout_idempotency_key(order: Order, creator_id: int) -> str:
    return f"payout-{order.public_id}-{creator_id}"


@transaction.atomic
def ledger_record_sale(*, order: Order) -> list[LedgerEntry]:
    """The fee and share lines of a fulfilled order, and a pending payout per creator owed anything. Once.

    Called by `order_fulfil` in its transaction, with the order locked; a free upgrade (amount 0) records
    nothing, since no money moved.
    """
    existing = list(order.ledger_entries.filter(entry=LedgerEntry.Entry.SALE))
    if existing or order.amount_cents == 0:
        return existing
    item_counts = _item_counts_by_creator(order)
    fee, shares = revenue_split(
        amount_cents=order.amount_cents,
        fee_basis_points=platform_fee_basis_points(),
        item_counts=item_counts,
    )
    at = order.fulfilled_at or order.paid_at or order.created_at
    entries = [
        LedgerEntry(
            order=order,
            kind=LedgerEntry.Kind.FEE,
            amount_cents=fee,
            currency=order.currency,
            created_at=at,
        )
    ]
    entries += [
        LedgerEntry(
            order=order,
            kind=LedgerEntry.Kind.SHARE,
            creator_id=creator_id,
            item_count=item_counts[creator_id],
            amount_cents=share,
            currency=order.currency,
            created_at=at,
        )
        for creator_id, share in shares.items()
    ]
    LedgerEntry.objects.bulk_create(entries)
    # Stripe refuses a transfer of nothing, and a creator owed 0 cents has nothing to be paid.
    Payout.objects.bulk_create(
        Payout(
            order=order,
            creator_id=creator_id,
            amount_cents=share,
            currency=order.currency,
            idempotency_key=payout_idempotency_key(order, creator_id),
            created_at=at,
        )
        for creator_id, share in shares.items()
        if share > 0
    )
    return entries


@transaction.atomic
def ledger_reverse_sale(*, order: Order) -> list[LedgerEntry]:
    """Negate a refunded or disputed order's sale lines, so every balance drops by what it had gained. Once."""
    if order.ledger_entries.filter(entry=LedgerEntry.Entry.REVERSAL).exists():
        return []
    reversals = [
        LedgerEntry(
            order=order,
            kind=sale.kind,
            entry=LedgerEntry.Entry.REVERSAL,
            creator_id=sale.creator_id,
            item_count=sale.item_count,
            amount_cents=-sale.amount_cents,
            currency=sale.currency,
            created_at=order.ended_at or sale.created_at,
        )
        for sale in order.ledger_entries.filter(entry=LedgerEntry.Entry.SALE).order_by("pk")
    ]
    return LedgerEntry.objects.bulk_create(reversals)
