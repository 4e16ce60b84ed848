-- An idempotency key belongs to one caller (the token's issuer, role, region and subject)
-- in one region: the same key from another caller is another request, never a replay of
-- this one's answer. submissions.idempotency_key keeps the keys given before this
-- migration, which were told apart by region only; they are replayed to no one.
CREATE TABLE idempotency_keys (
    region TEXT NOT NULL REFERENCES regions (code),
    caller TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    submission_id TEXT NOT NULL REFERENCES submissions (id),
    PRIMARY KEY (region, caller, idempotency_key)
);
