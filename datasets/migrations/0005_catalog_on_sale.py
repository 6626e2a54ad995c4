"""The catalog reads each dataset's row alone: the version on sale is kept on it, and titles are searchable apart.

Search found the version on sale of each matching dataset with an anti-join (no newer published version),
then ranked every match with ts_rank: 23 ms for a word found in 9,000 of 10,000 datasets. The version on sale
now lives on the dataset, with its publication time under a newest-first index. "Best match" puts the
datasets whose title holds the words before the ones that hold them elsewhere, newest first within each:
an order PostgreSQL reads off that index and stops after a page, however many datasets match. The title's
own search document (PostgreSQL) tells the two apart, with a GIN index for words rare in titles.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

ADD_TITLE_DOCUMENT = [
    """
    ALTER TABLE datasets_dataset ADD COLUMN title_document tsvector
        GENERATED ALWAYS AS (to_tsvector('english'::regconfig, title)) STORED
    """,
    "CREATE INDEX datasets_dataset_title_document ON datasets_dataset USING gin (title_document)",
    # The catalog's newest-first order now comes from the dataset's own index.
    "DROP INDEX IF EXISTS datasets_version_on_sale_newest",
]
REMOVE_TITLE_DOCUMENT = [
    """
    CREATE INDEX datasets_version_on_sale_newest ON datasets_datasetversion (published_at DESC, id DESC)
    WHERE status = 'published'
    """,
    "ALTER TABLE datasets_dataset DROP COLUMN IF EXISTS title_document",
]


def _postgresql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


def fill_version_on_sale(apps, schema_editor):
    Dataset = apps.get_model("datasets", "Dataset")
    DatasetVersion = apps.get_model("datasets", "DatasetVersion")
    newest = DatasetVersion.objects.filter(dataset=OuterRef("pk"), status="published").order_by("-number")
    Dataset.objects.update(
        version_on_sale=Subquery(newest.values("pk")[:1]),
        on_sale_since=Subquery(newest.values("published_at")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("datasets", "0004_stored_search_document"),
    ]

    operations = [
        migrations.AddField(
            model_name="dataset",
            name="on_sale_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="dataset",
            name="version_on_sale",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="datasets.datasetversion",
            ),
        ),
        migrations.AddIndex(
            model_name="dataset",
            index=models.Index(
                models.OrderBy(models.F("on_sale_since"), descending=True),
                models.OrderBy(models.F("id"), descending=True),
                condition=models.Q(("is_public", True), ("version_on_sale__isnull", False)),
                name="datasets_catalog_newest",
            ),
        ),
        migrations.RunPython(fill_version_on_sale, migrations.RunPython.noop),
        migrations.RunPython(_postgresql(ADD_TITLE_DOCUMENT), _postgresql(REMOVE_TITLE_DOCUMENT)),
    ]
