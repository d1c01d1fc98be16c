-- Secrets every node of a site shares (the API's cursor signing key),
-- made once by the first node that needs one. Never exported.
CREATE TABLE site_secret (
    name       text PRIMARY KEY,
    value      bytea NOT NULL CHECK (length(value) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
