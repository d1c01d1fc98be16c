-- Comments by anonymous visitors (no author row: a name, an optional
-- e-mail and the client address they posted from), edits (changed_at),
-- and the moderation queue read by status across items.
ALTER TABLE comment ALTER COLUMN author_id DROP NOT NULL;
ALTER TABLE comment ADD COLUMN author_name  text CHECK (author_name IS NULL OR length(author_name) BETWEEN 1 AND 60);
ALTER TABLE comment ADD COLUMN author_email text CHECK (author_email IS NULL OR length(author_email) BETWEEN 3 AND 254);
ALTER TABLE comment ADD COLUMN client_addr  text NOT NULL DEFAULT '';
ALTER TABLE comment ADD COLUMN changed_at   timestamptz NOT NULL DEFAULT now();
ALTER TABLE comment ADD CONSTRAINT comment_author CHECK (author_id IS NOT NULL OR author_name IS NOT NULL);
CREATE INDEX comment_status ON comment (status, created_at, id);

-- Page dependencies: the cache tags each rendered page used, so the static
-- export and cache invalidation can ask which pages depend on a tag after
-- a restart or a Redis flush (core.PageDeps).
CREATE TABLE page_dep (
    path        text        PRIMARY KEY CHECK (length(path) BETWEEN 1 AND 2048),
    tags        text[]      NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX page_dep_tags ON page_dep USING gin (tags);
