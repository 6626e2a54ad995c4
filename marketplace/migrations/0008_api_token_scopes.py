from django.db import migrations, models

# Tokens made before scopes existed could do everything their account can: they keep that, and their owners
# can replace them with narrower ones.
EVERY_SCOPE = ["read", "download", "write", "review"]


def existing_tokens_keep_their_reach(apps, schema_editor):
    apps.get_model("marketplace", "ApiToken").objects.update(scopes=EVERY_SCOPE)


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0007_order_checkout_started_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="scopes",
            field=models.JSONField(default=list),
        ),
        migrations.RunPython(existing_tokens_keep_their_reach, migrations.RunPython.noop),
    ]
