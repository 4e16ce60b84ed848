-- Publishing a snapshot: once published it is open statistics (read without a token, served
-- through the PxWeb API) and is never changed or withdrawn. NULL: a draft.
ALTER TABLE snapshots ADD COLUMN published_at TIMESTAMP;
ALTER TABLE snapshots ADD COLUMN published_by TEXT;
CREATE INDEX snapshots_by_publication ON snapshots (published_at);
