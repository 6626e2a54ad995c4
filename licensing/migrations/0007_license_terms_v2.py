"""The second text of each tier: what the site serves after a withdrawal, and what an erasure deletes, by when."""

import hashlib
from pathlib import Path

from django.db import migrations

TEXTS = Path(__file__).resolve().parent.parent / "terms"
SLUGS = ["research", "commercial", "commercial-generative"]


def publish_second_texts(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    LicenseTerms = apps.get_model("licensing", "LicenseTerms")
    LicenseTermsVersion = apps.get_model("licensing", "LicenseTermsVersion")
    for terms in LicenseTerms.objects.filter(slug__in=SLUGS):
        text = (TEXTS / f"{terms.slug}-v2.txt").read_text().strip()
        LicenseTermsVersion.objects.get_or_create(
            terms=terms,
            version=2,
            defaults={"text": text, "text_sha256": hashlib.sha256(text.encode()).hexdigest()},
        )


class Migration(migrations.Migration):
    dependencies = [("licensing", "0006_release_biometric_retention")]

    operations = [migrations.RunPython(publish_second_texts, migrations.RunPython.noop)]
