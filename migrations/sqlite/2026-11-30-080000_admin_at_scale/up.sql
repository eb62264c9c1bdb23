-- Nothing to change on SQLite: its client_secrets_last_used_at index already orders secrets by
-- (last_used_at, id), never used first (SQLite puts NULL first ascending, and every index ends
-- with the rowid, which id is). The folder keeps both backends' migrations in step.
SELECT 1;
