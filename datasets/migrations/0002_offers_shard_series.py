"""Priced offers replace the plain list of license tiers; photos and videos are sharded apart."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

# What an offer made before prices existed costs until a curator sets one: US$ 500.00.
PRICE_BEFORE_PRICES = 50_000


def copy_tiers_to_offers(apps, schema_editor):
    Dataset = apps.get_model("datasets", "Dataset")
    Offer = apps.get_model("datasets", "Offer")
    for dataset in Dataset.objects.prefetch_related("old_license_terms"):
        Offer.objects.bulk_create(
            Offer(dataset=dataset, terms=terms, price_cents=PRICE_BEFORE_PRICES)
            for terms in dataset.old_license_terms.all()
        )


class Migration(migrations.Migration):
    dependencies = [
        ("datasets", "0001_datasets_versions"),
        ("licensing", "0003_license_terms"),
    ]

    operations = [
        migrations.CreateModel(
            name="Offer",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("price_cents", models.PositiveIntegerField()),
                (
                    "dataset",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="offers",
                        to="datasets.dataset",
                    ),
                ),
                (
                    "terms",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="offers",
                        to="licensing.licenseterms",
                    ),
                ),
            ],
            options={
                "ordering": ["dataset", "price_cents"],
                "constraints": [
                    models.UniqueConstraint(fields=("dataset", "terms"), name="offer_terms_once")
                ],
            },
        ),
        migrations.RenameField(model_name="dataset", old_name="license_terms", new_name="old_license_terms"),
        migrations.AlterField(
            model_name="dataset",
            name="old_license_terms",
            field=models.ManyToManyField(blank=True, related_name="+", to="licensing.licenseterms"),
        ),
        migrations.RunPython(copy_tiers_to_offers, migrations.RunPython.noop),
        migrations.RemoveField(model_name="dataset", name="old_license_terms"),
        migrations.AddField(
            model_name="dataset",
            name="license_terms",
            field=models.ManyToManyField(
                blank=True, related_name="datasets", through="datasets.Offer", to="licensing.licenseterms"
            ),
        ),
        migrations.AddField(
            model_name="datasetversion",
            name="end_reason",
            field=models.TextField(blank=True, max_length=2000),
        ),
        migrations.AddField(
            model_name="datasetversion",
            name="stalled_attempts",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="datasetversion",
            name="build_token",
            field=models.UUIDField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="datasetversion",
            name="progress_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="Revocation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sample_keys", models.JSONField()),
                ("reason", models.TextField(max_length=2000)),
                ("withdrawn_at", models.DateTimeField()),
                ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                (
                    "replacement",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="datasets.datasetversion",
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="revocations",
                        to="datasets.datasetversion",
                    ),
                ),
            ],
            options={"ordering": ["created_at", "pk"]},
        ),
        migrations.RemoveConstraint(model_name="bundlefile", name="bundle_file_shard_index_unique"),
        migrations.AddField(
            model_name="bundlefile",
            name="series",
            field=models.CharField(
                blank=True, choices=[("photos", "Photos"), ("videos", "Videos")], max_length=8
            ),
        ),
        migrations.AddConstraint(
            model_name="bundlefile",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "shard")),
                fields=("version", "series", "shard_index"),
                name="bundle_file_shard_index_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="bundlefile",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("kind", "document"), ("series", ""), ("shard_index__isnull", True)),
                    models.Q(
                        ("kind", "shard"),
                        ("series__in", ["photos", "videos"]),
                        ("shard_index__isnull", False),
                    ),
                    _connector="OR",
                ),
                name="bundle_file_shard_fields",
            ),
        ),
    ]
