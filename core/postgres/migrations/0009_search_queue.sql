-- Search indexing leaves the writing transaction. A write to the live
-- projection (save, publish, rollback, type migration) now only queues the
-- item in search_pending; the indexer (Store.IndexSearch, run by serve)
-- computes the vectors after commit and removes the queue rows in the same
-- transaction, so a crash between a commit and its indexing leaves the rows
-- queued for the next run. Until then a search computes a queued item's
-- vector on the fly from the projection, so a committed item is searchable
-- at once and a stale stored vector is never used.

CREATE TABLE search_pending (
    item_id   uuid PRIMARY KEY REFERENCES item (id) ON DELETE CASCADE,
    queued_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX search_pending_queued ON search_pending (queued_at);

-- DO UPDATE (not DO NOTHING) takes the row lock: an indexer holding the
-- row skips it (SKIP LOCKED) until this writer commits, and a writer
-- behind an indexer's delete queues the item again once it commits.
CREATE OR REPLACE FUNCTION trovato_item_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_pending (item_id) VALUES (NEW.id)
    ON CONFLICT (item_id) DO UPDATE SET queued_at = EXCLUDED.queued_at;
    RETURN NULL;
END $$;

-- One notification per writing statement wakes the indexers of every
-- node (delivered at commit, never for a rolled-back write).
CREATE FUNCTION trovato_item_search_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('trovato_search', '');
    RETURN NULL;
END $$;
CREATE TRIGGER item_search_notify AFTER INSERT OR UPDATE ON item
    FOR EACH STATEMENT EXECUTE FUNCTION trovato_item_search_notify();
