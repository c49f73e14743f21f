-- Poll votes and event answers (issues 4 and 5) are encrypted with the message secret of the poll
-- or event they answer: kept here (hex, 32 bytes) beside the payload, never inside it, so no API
-- answer can leak it. NULL for every other message.
ALTER TABLE messages ADD COLUMN secret TEXT;
