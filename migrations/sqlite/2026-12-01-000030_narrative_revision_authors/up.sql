-- Who wrote each narrative revision, as value revisions say, so that a project's history
-- shows who changed its narratives (and when: the stamp of the revision's data version). Of
-- the revisions recorded before this, the latest of each narrative was written by whoever
-- last wrote the narrative; an earlier one's writer was not recorded.
ALTER TABLE narrative_revisions ADD COLUMN changed_by TEXT NOT NULL DEFAULT 'unknown';

UPDATE narrative_revisions
SET changed_by = (
    SELECT n.updated_by FROM narratives n
    WHERE n.project_id = narrative_revisions.project_id
      AND n.period = narrative_revisions.period
)
WHERE version = (
    SELECT MAX(r.version) FROM narrative_revisions r
    WHERE r.project_id = narrative_revisions.project_id
      AND r.period = narrative_revisions.period
);
