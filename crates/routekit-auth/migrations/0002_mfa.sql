-- TOTP factors and their challenges. Secrets are encrypted (XChaCha20-Poly1305) before they
-- reach the database.

CREATE TABLE auth_factors (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    friendly_name TEXT,
    factor_type TEXT NOT NULL,
    status TEXT NOT NULL,
    secret TEXT NOT NULL,
    -- The last accepted TOTP time step: a code is accepted only for a later step.
    last_used_step BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_challenged_at BIGINT
);

CREATE INDEX auth_factors_user_id ON auth_factors (user_id);
CREATE UNIQUE INDEX auth_factors_friendly_name ON auth_factors (user_id, friendly_name);

CREATE TABLE auth_mfa_challenges (
    id TEXT PRIMARY KEY,
    factor_id TEXT NOT NULL REFERENCES auth_factors (id) ON DELETE CASCADE,
    ip TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    verified_at BIGINT
);
