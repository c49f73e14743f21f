-- Delivery chains (sqlite flavour; keep in step with the other backend).
-- One row per (instance, webhook, chat) that has pending deliveries: the dispatcher claims chains,
-- not single deliveries, so finding what is due costs one index range however long a backlog is,
-- and one claim hands out the next deliveries of a chain in order.
-- `due_at` is the next attempt time of the chain's first pending delivery; `locked_until` the
-- lease of the dispatcher working the chain right now (0 when none).
CREATE TABLE delivery_chains (
    instance_id  TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    webhook_id   TEXT NOT NULL,
    chat_key     TEXT NOT NULL,
    due_at       INTEGER NOT NULL,
    locked_until INTEGER NOT NULL,
    PRIMARY KEY (instance_id, webhook_id, chat_key)
);

CREATE INDEX delivery_chains_due ON delivery_chains (due_at);

-- The chains of the deliveries already pending.
INSERT INTO delivery_chains (instance_id, webhook_id, chat_key, due_at, locked_until)
SELECT instance_id, webhook_id, chat_key, MIN(next_attempt_at), 0
FROM deliveries WHERE status = 'pending'
GROUP BY instance_id, webhook_id, chat_key;

-- Claims no longer lease single deliveries.
UPDATE deliveries SET locked_until = 0 WHERE locked_until <> 0;
