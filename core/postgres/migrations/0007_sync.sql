-- Sync between a local site (the desktop's) and a Trovato server
-- (docs/sync.md). These tables are only used on the local side; a server
-- keeps them empty.

-- The server this site is connected to, the change-feed cursor of its
-- last complete pull batch, and the sync state the editor shows.
CREATE TABLE sync_remote (
    one          boolean PRIMARY KEY DEFAULT true CHECK (one),
    url          text NOT NULL,
    token        text NOT NULL,
    feed_cursor  bigint NOT NULL DEFAULT 0,
    status       jsonb NOT NULL DEFAULT '{}',
    connected_at timestamptz NOT NULL DEFAULT now()
);

-- The server revision this site last saw of each staged entity and file:
-- pulled into live (stage_id = live), or pushed into a stage. A push sends
-- it as the base revision; a pull compares local live with it to find
-- local edits it must not overwrite. revision_id NULL: deleted on the
-- server.
CREATE TABLE sync_known (
    stage_id    uuid NOT NULL,
    kind        text NOT NULL,
    entity_id   uuid NOT NULL,
    revision_id uuid,
    PRIMARY KEY (stage_id, kind, entity_id)
);

-- Pulled changes that met a local edit of live: neither side is applied
-- over the other until someone chooses.
CREATE TABLE sync_conflict (
    kind               text NOT NULL,
    entity_id          uuid NOT NULL,
    local_revision_id  uuid,
    server_revision_id uuid,
    at                 timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, entity_id)
);

-- Pushes waiting for the server (offline, or the server failed).
CREATE TABLE sync_queue (
    stage_id   uuid PRIMARY KEY,
    queued_at  timestamptz NOT NULL DEFAULT now(),
    attempts   integer NOT NULL DEFAULT 0,
    next_at    timestamptz NOT NULL DEFAULT now(),
    last_error text NOT NULL DEFAULT ''
);
