from django.db import migrations

REVIEWERS_GROUP = "reviewers"


def create_reviewers_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=REVIEWERS_GROUP)


def delete_reviewers_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=REVIEWERS_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("marketplace", "0002_api_token"),
    ]

    operations = [migrations.RunPython(create_reviewers_group, delete_reviewers_group)]
