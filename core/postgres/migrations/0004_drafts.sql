-- Drafts: one mutable autosave per user, item and stage. A draft is never
-- a revision: saving it writes a revision through the item service and
-- deletes the draft.
CREATE TABLE item_draft (
    user_id          uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    item_id          uuid        NOT NULL,
    stage_id         uuid        NOT NULL REFERENCES stage (id) ON DELETE CASCADE,
    base_revision_id uuid        NOT NULL REFERENCES revision (id) ON DELETE CASCADE,
    doc              jsonb       NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, item_id, stage_id)
);
CREATE INDEX item_draft_item ON item_draft (item_id);
