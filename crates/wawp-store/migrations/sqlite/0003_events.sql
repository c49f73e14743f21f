-- The event outbox and its webhook deliveries (sqlite flavour; keep in step with the other backend).
-- An event is written in the same transaction as what caused it (an inbound message), with one
-- delivery row per subscribed webhook; the dispatcher then works the deliveries off.

-- Every event of an instance, in commit order (`seq`). `envelope` is the JSON body sent to
-- webhooks and to `/v2/events` (API-CONVENTIONS.md "Webhook events").
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT NOT NULL UNIQUE,
    instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    chat_key    TEXT,
    envelope    TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE INDEX events_instance ON events (instance_id, seq);
CREATE INDEX events_created ON events (created_at);

-- One row per (event, webhook). `chat_key` ('' when the event has no chat) orders deliveries:
-- a webhook never gets event N+1 of a chat before event N was delivered or died.
-- `locked_until` is the claim of a dispatcher that is sending it right now.
CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_seq        INTEGER NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
    instance_id      TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    webhook_id       TEXT NOT NULL,
    url              TEXT NOT NULL,
    chat_key         TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts         INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    locked_until     INTEGER NOT NULL,
    last_status_code INTEGER,
    last_error       TEXT,
    last_latency_ms  INTEGER,
    delivered_at     INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_chain ON deliveries (instance_id, webhook_id, chat_key, status, event_seq);
CREATE INDEX deliveries_instance ON deliveries (instance_id, id);
CREATE INDEX deliveries_event ON deliveries (event_seq);
