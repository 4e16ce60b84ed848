-- Each narrative's texts as written at each data version, so that a workbook made from an
-- older template can be compared with what the template held. A narrative already stored
-- is recorded at the current version: a template made before it is then compared with
-- nothing, and a cell changed on both sides is a conflict rather than a lost update.
CREATE TABLE narrative_revisions (
    project_id BIGINT NOT NULL REFERENCES projects (id),
    period TEXT NOT NULL REFERENCES periods (id),
    version BIGINT NOT NULL,
    progress TEXT NOT NULL,
    lessons TEXT NOT NULL,
    deviations TEXT NOT NULL,
    PRIMARY KEY (project_id, period, version)
);

INSERT INTO narrative_revisions (project_id, period, version, progress, lessons, deviations)
SELECT n.project_id, n.period, v.version, n.progress, n.lessons, n.deviations
FROM narratives n CROSS JOIN data_version v;
