"""On PostgreSQL the database itself refuses to rewrite history: the audit log and published license texts.

TRUNCATE is left to the table's owner, which is how Django's test flush empties tables; the site should run as
a role that does not own its tables (docs/operations.md), and then it cannot truncate either.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION licensing_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER licensing_auditevent_append_only
    BEFORE UPDATE OR DELETE ON licensing_auditevent
    FOR EACH ROW EXECUTE FUNCTION licensing_refuse_change();

CREATE OR REPLACE FUNCTION licensing_refuse_text_change() RETURNS trigger AS $$
BEGIN
    IF NEW.text IS DISTINCT FROM OLD.text OR NEW.version IS DISTINCT FROM OLD.version
       OR NEW.terms_id IS DISTINCT FROM OLD.terms_id THEN
        RAISE EXCEPTION 'a published license text is immutable: publish a new version'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER licensing_termsversion_immutable
    BEFORE UPDATE ON licensing_licensetermsversion
    FOR EACH ROW EXECUTE FUNCTION licensing_refuse_text_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS licensing_termsversion_immutable ON licensing_licensetermsversion;
DROP FUNCTION IF EXISTS licensing_refuse_text_change();
DROP TRIGGER IF EXISTS licensing_auditevent_append_only ON licensing_auditevent;
DROP FUNCTION IF EXISTS licensing_refuse_change();
"""


def _on_postgresql(sql: str):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("licensing", "0001_initial")]

    operations = [migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(BACKWARD))]
