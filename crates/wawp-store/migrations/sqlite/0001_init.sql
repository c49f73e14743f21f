-- wawp's own tables, SQLite flavour. Keep in step with migrations/postgres/0001_init.sql:
-- same tables, same columns, same nullability (the `schema_parity` test checks it).
-- Ids are TEXT; times are INTEGER milliseconds since the Unix epoch.

-- Access tokens. Only a SHA-256 hash of the token is kept; the token itself is shown once.
CREATE TABLE tokens (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    hash          TEXT NOT NULL UNIQUE,
    max_instances INTEGER,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    last_used_at  INTEGER
);

-- WhatsApp instances (sessions), each owned by one token.
CREATE TABLE instances (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL UNIQUE,
    token_id      TEXT NOT NULL REFERENCES tokens (id),
    config        TEXT NOT NULL,
    desired_state TEXT NOT NULL CHECK (desired_state IN ('running', 'stopped')),
    me            TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE INDEX instances_token_id ON instances (token_id);
CREATE INDEX instances_desired_state ON instances (desired_state);
