import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("creators", "0004_asset_erased_at"),
        ("marketplace", "0005_revocation_notices"),
    ]

    operations = [
        migrations.CreateModel(
            name="LedgerEntry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("fee", "Platform fee"), ("share", "Creator share")], max_length=8
                    ),
                ),
                (
                    "entry",
                    models.CharField(
                        choices=[("sale", "Sale"), ("reversal", "Reversal")], default="sale", max_length=8
                    ),
                ),
                ("item_count", models.PositiveIntegerField(default=0)),
                ("amount_cents", models.BigIntegerField()),
                ("currency", models.CharField(max_length=3)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "creator",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_entries",
                        to="creators.creatorprofile",
                    ),
                ),
                (
                    "order",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_entries",
                        to="marketplace.order",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-pk"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("kind", "share")),
                        fields=("order", "creator", "entry"),
                        name="ledger_share_once_per_order_creator",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("kind", "fee")),
                        fields=("order", "entry"),
                        name="ledger_fee_once_per_order",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("creator__isnull", True), ("kind", "fee")),
                            models.Q(("creator__isnull", False), ("kind", "share")),
                            _connector="OR",
                        ),
                        name="ledger_creator_only_on_shares",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("amount_cents__gte", 0), ("entry", "sale")),
                            models.Q(("amount_cents__lte", 0), ("entry", "reversal")),
                            _connector="OR",
                        ),
                        name="ledger_sign_matches_entry",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="Payout",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("amount_cents", models.PositiveBigIntegerField()),
                ("currency", models.CharField(max_length=3)),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "Pending"), ("sent", "Sent"), ("failed", "Failed")],
                        default="pending",
                        max_length=8,
                    ),
                ),
                ("idempotency_key", models.CharField(max_length=255, unique=True)),
                ("stripe_transfer_id", models.CharField(blank=True, max_length=255)),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("last_error", models.CharField(blank=True, max_length=500)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("sent_at", models.DateTimeField(blank=True, null=True)),
                ("failed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "creator",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="payouts",
                        to="creators.creatorprofile",
                    ),
                ),
                (
                    "order",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="payouts",
                        to="marketplace.order",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-pk"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("order", "creator"), name="payout_once_per_order_creator"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("status__in", ["pending", "sent", "failed"])),
                        name="payout_status_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("amount_cents__gt", 0)), name="payout_amount_positive"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="StripeAccount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("account_id", models.CharField(max_length=255, unique=True)),
                ("details_submitted", models.BooleanField(default=False)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "creator",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="stripe_account",
                        to="creators.creatorprofile",
                    ),
                ),
            ],
        ),
    ]
