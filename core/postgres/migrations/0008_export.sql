-- Static exports: the manifest of the last export of each folder (every
-- output file with its hash and dependency tags) and the change-feed
-- cursor it was built at, so the next export re-renders only what changed.
CREATE TABLE export_manifest (
    name        text PRIMARY KEY,
    feed_cursor bigint      NOT NULL,
    manifest    jsonb       NOT NULL,
    exported_at timestamptz NOT NULL DEFAULT now()
);
