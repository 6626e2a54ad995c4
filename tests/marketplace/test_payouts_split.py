"""The revenue split, as a property over many random sales: it sums to the cent and rounds fairly."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.services.ledger import BASIS_POINTS, revenue_split
from tests.examples import examples

sales = st.fixed_dictionaries(
    {
        "amount_cents": st.integers(min_value=0, max_value=10**7),
        "fee_basis_points": st.integers(min_value=0, max_value=BASIS_POINTS),
        "item_counts": st.lists(st.integers(min_value=1, max_value=500), min_size=1, max_size=50),
    }
)


@settings(max_examples=examples(200), deadline=None)
@given(sale=sales)
def test_every_split_sums_to_the_amount_and_each_part_is_within_a_cent_of_its_exact_value(sale):
    amount, fee_basis_points = sale["amount_cents"], sale["fee_basis_points"]
    item_counts = dict(enumerate(sale["item_counts"]))

    fee, shares = revenue_split(
        amount_cents=amount, fee_basis_points=fee_basis_points, item_counts=item_counts
    )

    assert fee + sum(shares.values()) == amount
    assert fee >= 0 and all(share >= 0 for share in shares.values())
    total_items = sum(item_counts.values())
    exact_fee = Fraction(amount * fee_basis_points, BASIS_POINTS)
    assert abs(fee - exact_fee) < 1
    for creator, count in item_counts.items():
        exact_share = (amount - exact_fee) * Fraction(count, total_items)
        # The largest-remainder property: rounding moves no part by a whole cent.
        assert abs(shares[creator] - exact_share) < 1


def test_leftover_cents_go_to_the_largest_remainders():
    # 10,001 cents at 20%: exact parts 2000.2 (fee), 6000.6 and 2000.2; the one cent left goes to 6000.6.
    fee, shares = revenue_split(amount_cents=10_001, fee_basis_points=2_000, item_counts={"a": 3, "b": 1})

    assert (fee, shares) == (2_000, {"a": 6_001, "b": 2_000})


def test_equal_remainders_favour_creators_in_order_then_the_platform():
    # 1 cent, no fee, three equal creators: one gets the cent, the first one, every time.
    assert revenue_split(amount_cents=1, fee_basis_points=0, item_counts={"a": 1, "b": 1, "c": 1}) == (
        0,
        {"a": 1, "b": 0, "c": 0},
    )


def test_with_no_attributable_items_the_whole_amount_is_the_fee():
    assert revenue_split(amount_cents=999, fee_basis_points=2_000, item_counts={}) == (999, {})


@pytest.mark.parametrize("amount, basis_points", [(-1, 2_000), (100, -1), (100, BASIS_POINTS + 1)])
def test_an_impossible_split_is_refused(amount, basis_points):
    with pytest.raises(ValueError):
        revenue_split(amount_cents=amount, fee_basis_points=basis_points, item_counts={"a": 1})
