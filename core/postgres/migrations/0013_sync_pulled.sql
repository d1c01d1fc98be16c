-- Pull conflicts of config documents, roles, plugins and themes
-- (docs/sync.md), and the API token moved out of the database.

-- What the last pull left of each config document (id KIND/NAME), role,
-- plugin and theme (id its name): a hash of the local copy right after
-- the server's state was applied (hash NULL: deleted). A later pull
-- compares the local copy with it to find local changes it must not
-- overwrite.
CREATE TABLE sync_pulled (
    kind text NOT NULL,
    id   text NOT NULL,
    hash bytea,
    PRIMARY KEY (kind, id)
);

-- Pulled changes of those kinds that met a local change: the server's
-- entity as it came, applied only when someone chooses theirs.
CREATE TABLE sync_doc_conflict (
    kind       text NOT NULL,
    id         text NOT NULL,
    local_hash bytea,
    server     jsonb NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, id)
);

-- The token lives in a 0600 file in the data directory (sync-token);
-- the engine moves a token still stored here into it and blanks this.
ALTER TABLE sync_remote ALTER COLUMN token SET DEFAULT '';
