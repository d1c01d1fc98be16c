-- Site themes (docs/site.md#themes), installed like plugins: theme.yaml and
-- every template and asset in the blob store, so every node loads the same
-- bytes. At most one theme is enabled; none enabled means the built-in
-- default theme. Changes append `theme` rows to the change feed, on which
-- every node rebuilds its renderer.
CREATE TABLE theme (
    name          text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_\-]{0,62}$' AND name <> 'default'),
    label         text NOT NULL DEFAULT '',
    version       text NOT NULL DEFAULT '',
    base          text NOT NULL DEFAULT 'default',
    regions       text[] NOT NULL DEFAULT '{}',
    manifest_yaml text NOT NULL,
    enabled       boolean NOT NULL DEFAULT false,
    installed_at  timestamptz NOT NULL DEFAULT now(),
    changed_at    timestamptz NOT NULL DEFAULT now(),
    changed_by    uuid NOT NULL
);

CREATE UNIQUE INDEX theme_one_enabled ON theme ((true)) WHERE enabled;

CREATE TABLE theme_file (
    theme text NOT NULL REFERENCES theme (name) ON DELETE CASCADE,
    path  text NOT NULL,
    hash  bytea NOT NULL REFERENCES blob (hash),
    PRIMARY KEY (theme, path)
);
