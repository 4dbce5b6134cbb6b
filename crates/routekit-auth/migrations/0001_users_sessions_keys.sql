-- Portable SQL: runs unchanged on SQLite and PostgreSQL. Ids are UUID text, times are unix
-- seconds, JSON is text.

CREATE TABLE auth_users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    role TEXT NOT NULL,
    aud TEXT NOT NULL,
    app_metadata TEXT NOT NULL,
    user_metadata TEXT NOT NULL,
    email_confirmed_at BIGINT,
    last_sign_in_at BIGINT,
    banned_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One row per signed-in device. The refresh token is derived from (id, refresh_counter) under a
-- server key; only its SHA-256 is stored.
CREATE TABLE auth_sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    aal TEXT NOT NULL,
    amr TEXT NOT NULL,
    refresh_counter BIGINT NOT NULL,
    refresh_hash TEXT NOT NULL,
    refreshed_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX auth_sessions_user_id ON auth_sessions (user_id);

-- ES256 signing keys; retired keys stay listed in the JWKS until their tokens expire.
CREATE TABLE auth_signing_keys (
    kid TEXT PRIMARY KEY,
    private_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);

-- Server secrets created on first start (the refresh-token key).
CREATE TABLE auth_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
