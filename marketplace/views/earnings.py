"""A creator's earnings: every sale that used their work, a chart over time, a CSV statement, Stripe payouts."""

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from creators.models import CreatorProfile
from creators.views import creator_required
from marketplace import payments, selectors
from marketplace.services import payouts

STATEMENT_COLUMNS = [
    "date",
    "order",
    "dataset",
    "version",
    "your_assets",
    "entry",
    "amount",
    "amount_cents",
    "currency",
    "payout_status",
]
# A spreadsheet runs a cell starting with one of these as a formula: such text is written with a quote first.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@require_GET
@creator_required
def earnings(request: HttpRequest, creator: CreatorProfile) -> HttpResponse:
    context = {
        "rows": selectors.earnings_rows(creator=creator),
        "totals": selectors.earnings_totals(creator=creator),
        "months": selectors.earnings_by_month(creator=creator),
        "account": selectors.stripe_account_of_creator(creator=creator),
        "stripe_enabled": payments.stripe_enabled(),
    }
    return render(request, "marketplace/earnings.html", context)


@require_GET
@creator_required
def earnings_csv(request: HttpRequest, creator: CreatorProfile) -> HttpResponse:
    """The statement: the page's rows, one per line, amounts both as decimals and as integer cents."""
    filename = f"earnings-{timezone.localdate().isoformat()}.csv"
    response = HttpResponse(
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
    writer = csv.writer(response)
    writer.writerow(STATEMENT_COLUMNS)
    for row in selectors.earnings_rows(creator=creator):
        writer.writerow(
            [
                row.date.date().isoformat(),
                row.order_id,
                _spreadsheet_safe(row.dataset_title),
                row.version_number,
                row.item_count,
                row.kind,
                cents_as_decimal(row.amount_cents),
                row.amount_cents,
                row.currency,
                _spreadsheet_safe(row.payout_status),
            ]
        )
    return response


def cents_as_decimal(cents: int) -> str:
    """-1234 -> "-12.34", in integers only, so a statement never shows a float's rounding."""
    whole, fraction = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}{whole}.{fraction:02d}"


def _spreadsheet_safe(text: str) -> str:
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


@require_POST
@creator_required
def stripe_connect(request: HttpRequest, creator: CreatorProfile) -> HttpResponse:
    """Off to Stripe's onboarding for the creator's payout account; back to the return view after."""
    try:
        url = payouts.stripe_account_onboarding_url(
            creator=creator,
            return_url=request.build_absolute_uri(reverse("earnings-stripe-return")),
            refresh_url=request.build_absolute_uri(reverse("earnings")),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("earnings")
    return redirect(url)


@require_GET
@creator_required
def stripe_return(request: HttpRequest, creator: CreatorProfile) -> HttpResponse:
    """Where Stripe sends the creator back: whether onboarding is finished is asked of Stripe, not the URL."""
    account = payouts.stripe_account_refresh(creator=creator)
    if account is not None and account.details_submitted:
        messages.success(request, "Your Stripe account is connected: your earnings will be paid out to it.")
    else:
        messages.info(request, "Stripe onboarding is not finished yet; continue it when you are ready.")
    return redirect("earnings")
