-- Trovato's foundation schema: users and roles, the config store, the
-- change feed, stages, revisions and heads for every staged kind, the live
-- projections visitors read, releases, and the blob store.

-- The change feed: one row per committed change, written in the same
-- transaction. Readers take rows whose xid is below
-- pg_snapshot_xmin(pg_current_snapshot()) so none is ever skipped.
CREATE TABLE change_feed (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    kind        text NOT NULL,
    entity_id   text NOT NULL,
    stage_id    uuid,
    revision_id uuid,
    release_id  uuid,
    op          text NOT NULL CHECK (op IN ('create', 'update', 'delete')),
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX change_feed_xid ON change_feed (xid, seq);

CREATE TABLE users (
    id         uuid PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    email      text NOT NULL DEFAULT '',
    status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked')),
    created_at timestamptz NOT NULL DEFAULT now(),
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_name_ci ON users (lower(name));
CREATE UNIQUE INDEX users_email_ci ON users (lower(email)) WHERE email <> '';

CREATE TABLE roles (
    id      uuid PRIMARY KEY,
    name    text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9_]{0,63}$'),
    label   text NOT NULL DEFAULT '',
    builtin boolean NOT NULL DEFAULT false
);

CREATE TABLE role_permission (
    role_id    uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    permission text NOT NULL,
    PRIMARY KEY (role_id, permission)
);

CREATE TABLE user_role (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);

INSERT INTO users (id, name, email, created_at, changed_at) VALUES
    ('01000000-0000-7000-8000-000000000001', 'system', '', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'),
    ('01000000-0000-7000-8000-000000000002', 'admin', 'admin@localhost', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');

INSERT INTO roles (id, name, label, builtin) VALUES
    ('01000000-0000-7000-8000-000000000101', 'anonymous', 'Anonymous', true),
    ('01000000-0000-7000-8000-000000000102', 'authenticated', 'Authenticated', true),
    ('01000000-0000-7000-8000-000000000103', 'editor', 'Editor', true),
    ('01000000-0000-7000-8000-000000000104', 'administrator', 'Administrator', true);

INSERT INTO role_permission (role_id, permission) VALUES
    ('01000000-0000-7000-8000-000000000101', 'content.access'),
    ('01000000-0000-7000-8000-000000000102', 'content.access'),
    ('01000000-0000-7000-8000-000000000103', 'content.administer'),
    ('01000000-0000-7000-8000-000000000103', 'files.upload'),
    ('01000000-0000-7000-8000-000000000103', 'stage.create'),
    ('01000000-0000-7000-8000-000000000103', 'stage.view_any'),
    ('01000000-0000-7000-8000-000000000103', 'stage.edit_any'),
    ('01000000-0000-7000-8000-000000000103', 'categories.administer'),
    ('01000000-0000-7000-8000-000000000103', 'menus.administer'),
    ('01000000-0000-7000-8000-000000000103', 'aliases.administer');

INSERT INTO user_role (user_id, role_id) VALUES
    ('01000000-0000-7000-8000-000000000002', '01000000-0000-7000-8000-000000000104');

-- The config store: versioned documents, each with a kind and a name.
CREATE TABLE config_doc (
    kind       text NOT NULL,
    name       text NOT NULL,
    version    integer NOT NULL CHECK (version > 0),
    body       jsonb NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    changed_by uuid NOT NULL,
    PRIMARY KEY (kind, name)
);

CREATE TABLE config_doc_version (
    kind       text NOT NULL,
    name       text NOT NULL,
    version    integer NOT NULL,
    body       jsonb,          -- NULL records a deletion
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid NOT NULL,
    PRIMARY KEY (kind, name, version)
);

-- Stages. Live is a stage; a named stage is an overlay on live.
CREATE TABLE stage (
    id         uuid PRIMARY KEY,
    name       text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    label      text NOT NULL DEFAULT '',
    state      text NOT NULL DEFAULT 'open' CHECK (state IN ('live', 'open', 'published', 'discarded')),
    publish_at timestamptz,
    -- The outcome of the last scheduled publish that could not be applied.
    schedule_report jsonb,
    created_by uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX stage_open_name ON stage (name) WHERE state IN ('live', 'open');
CREATE INDEX stage_publish_at ON stage (publish_at) WHERE publish_at IS NOT NULL AND state = 'open';
INSERT INTO stage (id, name, label, state, created_by, created_at, changed_at) VALUES
    ('01000000-0000-7000-8000-000000000010', 'live', 'Live', 'live',
     '01000000-0000-7000-8000-000000000001', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');

-- Revisions of every staged kind (items, aliases, menu links, terms, and
-- kinds plugins declare). Immutable: the database refuses updates.
CREATE TABLE revision (
    id           uuid PRIMARY KEY,
    kind         text NOT NULL,
    entity_id    uuid NOT NULL,
    parent_id    uuid,
    stage_id     uuid NOT NULL,
    author_id    uuid NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    log          text NOT NULL DEFAULT '',
    type_version integer NOT NULL DEFAULT 0,
    doc          jsonb NOT NULL
);
CREATE INDEX revision_entity ON revision (entity_id, created_at);

CREATE FUNCTION trovato_revision_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'revisions are immutable (revision %)', OLD.id USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER revision_immutable BEFORE UPDATE OR DELETE ON revision
    FOR EACH ROW EXECUTE FUNCTION trovato_revision_immutable();
CREATE FUNCTION trovato_revision_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'revisions are immutable' USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER revision_no_truncate BEFORE TRUNCATE ON revision
    FOR EACH STATEMENT EXECUTE FUNCTION trovato_revision_no_truncate();

-- Heads: which revision each stage shows for each entity. Live's heads are
-- the published state; a named stage's heads are its overrides, each with
-- the live revision it was based on (NULL for an entity created in the
-- stage). A deleted head is a tombstone.
CREATE TABLE head (
    stage_id         uuid NOT NULL REFERENCES stage (id),
    kind             text NOT NULL,
    entity_id        uuid NOT NULL,
    revision_id      uuid NOT NULL REFERENCES revision (id),
    base_revision_id uuid REFERENCES revision (id),
    deleted          boolean NOT NULL DEFAULT false,
    changed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stage_id, kind, entity_id)
);
CREATE INDEX head_entity ON head (kind, entity_id);

-- Live projection of items: what visitors read, with no overlay join.
-- Maintained by the same transaction that moves a live head.
CREATE TABLE item (
    id           uuid PRIMARY KEY,
    type         text NOT NULL,
    title        text NOT NULL,
    status       text NOT NULL,
    author_id    uuid NOT NULL,
    created_at   timestamptz NOT NULL,
    changed_at   timestamptz NOT NULL,
    promote      boolean NOT NULL DEFAULT false,
    sticky       boolean NOT NULL DEFAULT false,
    language     text NOT NULL DEFAULT 'und',
    tgroup_id    uuid NOT NULL,
    fields       jsonb NOT NULL DEFAULT '{}',
    revision_id  uuid NOT NULL,
    type_version integer NOT NULL DEFAULT 0
);
CREATE INDEX item_type_created ON item (type, status, created_at DESC);
CREATE INDEX item_changed ON item (changed_at DESC);
CREATE INDEX item_list ON item (sticky DESC, created_at DESC, id DESC);
CREATE INDEX item_author ON item (author_id);
CREATE INDEX item_tgroup ON item (tgroup_id);

-- List access (Drupal's node access): grant rows per item and stage,
-- written in the same transaction as saves and publishes; listings join
-- them in SQL and never call a plugin per row.
CREATE TABLE item_grant (
    stage_id     uuid NOT NULL,
    item_id      uuid NOT NULL,
    realm        text NOT NULL,
    gid          text NOT NULL,
    grant_view   boolean NOT NULL DEFAULT false,
    grant_update boolean NOT NULL DEFAULT false,
    grant_delete boolean NOT NULL DEFAULT false,
    PRIMARY KEY (stage_id, item_id, realm, gid)
);
CREATE INDEX item_grant_view ON item_grant (item_id, stage_id) WHERE grant_view;

-- Live projections of the other kernel kinds.
CREATE TABLE path_alias (
    id          uuid PRIMARY KEY,
    alias       text NOT NULL,
    language    text NOT NULL DEFAULT 'und',
    path        text NOT NULL,
    revision_id uuid NOT NULL
);
-- Deferred so that a publish may swap two aliases in one transaction.
ALTER TABLE path_alias ADD CONSTRAINT path_alias_unique UNIQUE (alias, language) DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX path_alias_path ON path_alias (path);

-- Redirects left behind when a live alias changes.
CREATE TABLE path_redirect (
    source     text NOT NULL,
    language   text NOT NULL DEFAULT 'und',
    target     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, language)
);

CREATE TABLE term (
    id          uuid PRIMARY KEY,
    vocabulary  text NOT NULL,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    parents     uuid[] NOT NULL DEFAULT '{}',
    weight      integer NOT NULL DEFAULT 0,
    revision_id uuid NOT NULL
);
CREATE INDEX term_vocabulary ON term (vocabulary, weight, name);
CREATE INDEX term_parents ON term USING gin (parents);

CREATE TABLE menu_link (
    id          uuid PRIMARY KEY,
    menu        text NOT NULL,
    title       text NOT NULL,
    path        text NOT NULL,
    parent_id   uuid,
    weight      integer NOT NULL DEFAULT 0,
    revision_id uuid NOT NULL
);
CREATE INDEX menu_link_menu ON menu_link (menu, parent_id, weight);

-- Releases: every publish (and rollback) of a stage.
CREATE TABLE release (
    id          uuid PRIMARY KEY,
    stage_id    uuid NOT NULL REFERENCES stage (id),
    stage_name  text NOT NULL,
    rollback_of uuid REFERENCES release (id),
    created_by  uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    message     text NOT NULL DEFAULT ''
);

CREATE TABLE release_entry (
    release_id       uuid NOT NULL REFERENCES release (id),
    kind             text NOT NULL,
    entity_id        uuid NOT NULL,
    prev_revision_id uuid REFERENCES revision (id), -- NULL: did not exist in live
    new_revision_id  uuid REFERENCES revision (id), -- NULL: deleted from live
    PRIMARY KEY (release_id, kind, entity_id)
);

-- The blob store: content addressed (SHA-256), chunked so no file is ever
-- held whole in memory.
CREATE TABLE blob (
    hash       bytea PRIMARY KEY CHECK (length(hash) = 32),
    blob_id    uuid NOT NULL UNIQUE,
    size       bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE blob_chunk (
    blob_id uuid NOT NULL,
    n       integer NOT NULL,
    data    bytea NOT NULL,
    PRIMARY KEY (blob_id, n)
);

CREATE TABLE file (
    id         uuid PRIMARY KEY,
    hash       bytea NOT NULL REFERENCES blob (hash),
    size       bigint NOT NULL,
    mime       text NOT NULL,
    name       text NOT NULL,
    owner_id   uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX file_hash ON file (hash);

-- Installed plugins: manifest and module (by hash in the blob store), so
-- every node loads the same bytes. Plugin tables live in schemas of their
-- own (plugin_<name>), created by the kernel from the manifest.
CREATE TABLE plugin (
    name            text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    version         text NOT NULL,
    manifest_toml   text NOT NULL,
    hash            bytea NOT NULL REFERENCES blob (hash),
    enabled         boolean NOT NULL DEFAULT false,
    approved        text[] NOT NULL DEFAULT '{}',
    table_versions  jsonb NOT NULL DEFAULT '{}',
    disabled_reason text NOT NULL DEFAULT '',
    installed_at    timestamptz NOT NULL DEFAULT now(),
    changed_at      timestamptz NOT NULL DEFAULT now(),
    changed_by      uuid NOT NULL
);

CREATE TABLE plugin_variable (
    plugin text NOT NULL,
    name   text NOT NULL,
    value  jsonb NOT NULL,
    PRIMARY KEY (plugin, name)
);

-- Server nodes, with the Redis they use: a node whose Redis differs from
-- the live nodes' refuses to start.
CREATE TABLE node (
    id         uuid PRIMARY KEY,
    hostname   text NOT NULL,
    pid        integer NOT NULL,
    addr       text NOT NULL DEFAULT '',
    redis_id   text NOT NULL DEFAULT '',
    started_at timestamptz NOT NULL DEFAULT now(),
    seen_at    timestamptz NOT NULL DEFAULT now()
);
