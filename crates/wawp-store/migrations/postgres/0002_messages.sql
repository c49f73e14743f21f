-- Messages and chats of each instance (postgres flavour; keep in step with the other backend).
-- Booleans are stored as BIGINT 0/1 so that one set of queries serves both backends.

-- Every message in and out. `id` is the serialized id ({fromMe}_{chatId}_{waId}[_{participant}]);
-- `payload` is the message object the API answers with (JSON), `ack` its delivery state.
CREATE TABLE messages (
    instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    wa_id       TEXT NOT NULL,
    chat_id     TEXT NOT NULL,
    from_me     BIGINT NOT NULL,
    timestamp   BIGINT NOT NULL,
    ack         BIGINT NOT NULL,
    payload     TEXT NOT NULL,
    PRIMARY KEY (instance_id, id)
);

CREATE INDEX messages_chat ON messages (instance_id, chat_id, timestamp);
CREATE INDEX messages_wa_id ON messages (instance_id, wa_id);

-- One row per chat: its latest message and how many incoming messages are unread.
CREATE TABLE chats (
    instance_id     TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    name            TEXT,
    last_message_id TEXT,
    last_timestamp  BIGINT NOT NULL,
    unread_count    BIGINT NOT NULL,
    PRIMARY KEY (instance_id, id)
);

CREATE INDEX chats_last_timestamp ON chats (instance_id, last_timestamp);
