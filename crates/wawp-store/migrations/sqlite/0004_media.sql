-- Media (issue 4): where a message's file lives on WhatsApp's media hosts and how to decrypt it
-- (JSON owned by wawp-engine: direct path, media key, hashes, length, kind). Private: never part
-- of the payload the API answers with. NULL for messages without media.
ALTER TABLE messages ADD COLUMN media_ref TEXT;
