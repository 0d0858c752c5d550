"""Database-level guards for the journal on PostgreSQL (SQLite relies on the posting service alone):
- every entry's lines sum to zero and use the account's currency, checked at COMMIT by a deferred constraint
  trigger (lines are inserted one by one, so the sum is only whole at the end of the transaction);
- journal entries and lines are append-only: UPDATE and DELETE are refused (corrections are reversal entries).
TRUNCATE (used by test-database flushes) is a table-level operation and is not affected."""
from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION billing_journal_line_check() RETURNS trigger AS $$
DECLARE
    total numeric;
    account_currency varchar;
BEGIN
    SELECT currency INTO account_currency FROM billing_account WHERE id = NEW.account_id;
    IF account_currency <> NEW.amount_currency THEN
        RAISE EXCEPTION 'journal line % is in % but account % is kept in %',
            NEW.id, NEW.amount_currency, NEW.account_id, account_currency USING ERRCODE = 'check_violation';
    END IF;
    SELECT COALESCE(SUM(amount), 0) INTO total FROM billing_journalline WHERE entry_id = NEW.entry_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'journal entry % is unbalanced by %', NEW.entry_id, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER billing_journal_line_balanced
    AFTER INSERT ON billing_journalline DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION billing_journal_line_check();

CREATE OR REPLACE FUNCTION billing_journal_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: post a reversal entry instead of % ', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER billing_journalentry_append_only BEFORE UPDATE OR DELETE ON billing_journalentry
    FOR EACH ROW EXECUTE FUNCTION billing_journal_append_only();
CREATE TRIGGER billing_journalline_append_only BEFORE UPDATE OR DELETE ON billing_journalline
    FOR EACH ROW EXECUTE FUNCTION billing_journal_append_only();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS billing_journalline_append_only ON billing_journalline;
DROP TRIGGER IF EXISTS billing_journalentry_append_only ON billing_journalentry;
DROP FUNCTION IF EXISTS billing_journal_append_only();
DROP TRIGGER IF EXISTS billing_journal_line_balanced ON billing_journalline;
DROP FUNCTION IF EXISTS billing_journal_line_check();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
