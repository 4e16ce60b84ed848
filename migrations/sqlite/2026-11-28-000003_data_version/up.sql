-- One number that every write transaction increases before it commits, so that an answer
-- computed at one version can be reused, by any instance, until the data changes.
CREATE TABLE data_version (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO data_version (id, version) VALUES (1, 0);
