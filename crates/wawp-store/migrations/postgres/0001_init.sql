-- wawp's own tables, PostgreSQL flavour. Keep in step with migrations/sqlite/0001_init.sql:
-- same tables, same columns, same nullability (the `schema_parity` test checks it).
-- Ids are TEXT; times are BIGINT milliseconds since the Unix epoch (i64 on the Rust side).

-- Access tokens. Only a SHA-256 hash of the token is kept; the token itself is shown once.
CREATE TABLE tokens (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    hash          TEXT NOT NULL UNIQUE,
    max_instances BIGINT,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT,
    last_used_at  BIGINT
);

-- WhatsApp instances (sessions), each owned by one token.
CREATE TABLE instances (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL UNIQUE,
    token_id      TEXT NOT NULL REFERENCES tokens (id),
    config        TEXT NOT NULL,
    desired_state TEXT NOT NULL CHECK (desired_state IN ('running', 'stopped')),
    me            TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE INDEX instances_token_id ON instances (token_id);
CREATE INDEX instances_desired_state ON instances (desired_state);
