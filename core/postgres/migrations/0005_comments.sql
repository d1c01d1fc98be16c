-- Comments on items: threaded (parent_id), moderated (pending or
-- published), not staged: a comment belongs to the live item.
CREATE TABLE comment (
    id         uuid PRIMARY KEY,
    item_id    uuid        NOT NULL,
    parent_id  uuid        REFERENCES comment (id) ON DELETE CASCADE,
    author_id  uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body       text        NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    status     text        NOT NULL CHECK (status IN ('pending', 'published')),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comment_item ON comment (item_id, status, created_at);
