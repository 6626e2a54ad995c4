"""Catalog search on PostgreSQL: the search document of a dataset as a function, and a GIN index over it.

The document is computed from the dataset's own columns, never stored: whatever service changes a title, a
description or the tags, the index follows with the row. Nothing is needed on SQLite, where the catalog
falls back to a plain substring match.
"""

from django.db import migrations

# The category labels at the time of writing; the document must be a pure function of the row, so they are
# spelled out here rather than read from the model (a later relabelling needs a migration of its own).
CATEGORY_LABELS = (
    ("portraits", "Portraits"),
    ("fashion", "Fashion"),
    ("food", "Food"),
    ("architecture", "Architecture"),
    ("products", "Products"),
    ("nature", "Nature and landscapes"),
    ("animals", "Animals"),
    ("street", "Street"),
    ("sports", "Sports"),
    ("travel", "Travel"),
    ("documentary", "Documentary"),
    ("abstract", "Abstract and textures"),
    ("motion_video", "Motion-rich video"),
    ("other", "Other"),
)

_LABEL_CASES = " ".join(f"WHEN '{code}' THEN '{label}'" for code, label in CATEGORY_LABELS)

# Weights: the title counts most (A), then the category and tags (B), then the description and uses (C).
# IMMUTABLE lets an index be built on it; a SQL function of one expression is inlined by the planner into
# both the index definition and the query, which then match.
CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION datasets_search_document(
    title text, description text, intended_uses text, category text, categories jsonb, tags jsonb
) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('english'::regconfig, title), 'A')
        || setweight(to_tsvector('english'::regconfig, category || ' ' || CASE category {_LABEL_CASES} ELSE '' END), 'B')
        || setweight(jsonb_to_tsvector('english'::regconfig, categories, '["string"]'), 'B')
        || setweight(jsonb_to_tsvector('english'::regconfig, tags, '["string"]'), 'B')
        || setweight(to_tsvector('english'::regconfig, description || ' ' || intended_uses), 'C')
$$
"""
CREATE_SEARCH_INDEX = """
CREATE INDEX datasets_dataset_search ON datasets_dataset USING gin (
    datasets_search_document(title, description, intended_uses, category, categories, tags)
)
"""
# The default order of the catalog, newest first, read as a keyset from this index.
CREATE_NEWEST_INDEX = """
CREATE INDEX datasets_version_on_sale_newest ON datasets_datasetversion (published_at DESC, id DESC)
WHERE status = 'published'
"""
DROP = [
    "DROP INDEX IF EXISTS datasets_version_on_sale_newest",
    "DROP INDEX IF EXISTS datasets_dataset_search",
    "DROP FUNCTION IF EXISTS datasets_search_document(text, text, text, text, jsonb, jsonb)",
]


def create_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in (CREATE_FUNCTION, CREATE_SEARCH_INDEX, CREATE_NEWEST_INDEX):
        schema_editor.execute(statement)


def drop_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in DROP:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("datasets", "0002_offers_shard_series"),
    ]

    operations = [
        migrations.RunPython(create_search, drop_search),
    ]
