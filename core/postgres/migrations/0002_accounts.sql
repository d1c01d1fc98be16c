-- Accounts and the security perimeter: password hashes and session epochs
-- on users, failed-login counting and lockouts, single-use login links and
-- reset tokens, API tokens, and the audit log. Everything here is security
-- state that must survive restarts and be shared by every node.

-- password_hash is an Argon2id PHC string, '' when the user has none (and
-- so cannot sign in with a password). session_epoch is bumped by "log out
-- everywhere" and by password changes; sessions remember the epoch they
-- were made in and end when it moves.
ALTER TABLE users
    ADD COLUMN password_hash       text NOT NULL DEFAULT '',
    ADD COLUMN password_changed_at timestamptz,
    ADD COLUMN session_epoch       bigint NOT NULL DEFAULT 1;

-- One row per failed sign-in, per key: scope 'account' keys by the lower-
-- cased name tried (whether or not such a user exists, so that lockouts
-- reveal nothing), scope 'address' by the client's address (IPv6 by /64).
CREATE TABLE login_failure (
    id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope text NOT NULL CHECK (scope IN ('account', 'address')),
    key   text NOT NULL CHECK (length(key) BETWEEN 1 AND 256),
    at    timestamptz NOT NULL
);
CREATE INDEX login_failure_key ON login_failure (scope, key, at);
CREATE INDEX login_failure_at ON login_failure (at);

-- A key locked until a time.
CREATE TABLE login_lock (
    scope        text NOT NULL CHECK (scope IN ('account', 'address')),
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 256),
    locked_until timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);

-- Single-use account tokens (login links, password resets): only the
-- SHA-256 of the secret is stored.
CREATE TABLE account_token (
    hash       bytea PRIMARY KEY CHECK (length(hash) = 32),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('login', 'reset')),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX account_token_user ON account_token (user_id, purpose) WHERE used_at IS NULL;

-- Personal API tokens: the SHA-256 of the secret, the permissions and the
-- stage they are limited to.
CREATE TABLE api_token (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    hash         bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    permissions  text[] NOT NULL DEFAULT '{}',
    stage_id     uuid REFERENCES stage (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_token_user ON api_token (user_id, created_at);

-- The audit log: who, what, when, from where. actor is not a foreign key:
-- entries outlive the users they name (actor_name keeps the name).
CREATE TABLE audit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       uuid,
    actor_name  text NOT NULL DEFAULT '',
    action      text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
    object      text NOT NULL DEFAULT '',
    detail      jsonb NOT NULL DEFAULT '{}',
    client_addr text NOT NULL DEFAULT ''
);
CREATE INDEX audit_action ON audit (action, id);
CREATE INDEX audit_actor ON audit (actor, id);
