"""Prices as buyers read them: integer cents shown as dollars with thousands separators."""

from django import template

register = template.Library()


@register.filter
def price(cents: int | None) -> str:
    """12000000 -> "$120,000.00"."""
    return "" if cents is None else f"${cents / 100:,.2f}"
