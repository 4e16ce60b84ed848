DROP INDEX snapshots_by_publication;
ALTER TABLE snapshots DROP COLUMN published_by;
ALTER TABLE snapshots DROP COLUMN published_at;
