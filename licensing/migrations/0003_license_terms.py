"""The three license tiers buyers license under, each with its first text."""

import hashlib
from pathlib import Path

from django.db import migrations

TEXTS = Path(__file__).resolve().parent.parent / "terms"

TIERS = [
    {
        "slug": "research",
        "name": "Research",
        "summary": "Non-commercial research: training and evaluation, no generative training, no likeness.",
        "commercial": False,
        "likeness_generation": False,
        "uses": ["data_mining", "ai_inference", "ai_training"],
        "position": 1,
    },
    {
        "slug": "commercial",
        "name": "Commercial training",
        "summary": "Commercial model training and evaluation; no generative training, no likeness generation.",
        "commercial": True,
        "likeness_generation": False,
        "uses": ["data_mining", "ai_inference", "ai_training"],
        "position": 2,
    },
    {
        "slug": "commercial-generative",
        "name": "Commercial including generative",
        "summary": "Commercial training including generative models; no one's likeness presented as theirs.",
        "commercial": True,
        "likeness_generation": True,
        "uses": ["data_mining", "ai_inference", "ai_training", "ai_generative_training"],
        "position": 3,
    },
]


def create_tiers(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    LicenseTerms = apps.get_model("licensing", "LicenseTerms")
    LicenseTermsVersion = apps.get_model("licensing", "LicenseTermsVersion")
    for tier in TIERS:
        terms, _ = LicenseTerms.objects.get_or_create(slug=tier["slug"], defaults=tier)
        text = (TEXTS / f"{tier['slug']}-v1.txt").read_text().strip()
        LicenseTermsVersion.objects.get_or_create(
            terms=terms,
            version=1,
            defaults={"text": text, "text_sha256": hashlib.sha256(text.encode()).hexdigest()},
        )


class Migration(migrations.Migration):
    dependencies = [("licensing", "0002_append_only_triggers")]

    operations = [migrations.RunPython(create_tiers, migrations.RunPython.noop)]
