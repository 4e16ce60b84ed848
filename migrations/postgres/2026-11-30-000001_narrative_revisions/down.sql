DROP TABLE narrative_revisions;
