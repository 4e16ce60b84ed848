DROP INDEX project_history_since;
DROP INDEX value_revisions_since;
