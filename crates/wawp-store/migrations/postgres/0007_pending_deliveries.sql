-- Slimmer delivery bookkeeping (postgres flavour; keep in step with the other backend).
-- Every lookup of a chain's deliveries asks for its pending ones (claims, settlements, repairs),
-- so the chain index keeps only those: a delivered delivery leaves it instead of moving to the
-- delivered end of its chain, and the index stays as small as the backlog. `deliveries_due`
-- served only the repair of chains, which this index serves too.
DROP INDEX deliveries_due;
DROP INDEX deliveries_chain;
CREATE INDEX deliveries_pending ON deliveries (instance_id, webhook_id, chat_key, event_seq)
    WHERE status = 'pending';
