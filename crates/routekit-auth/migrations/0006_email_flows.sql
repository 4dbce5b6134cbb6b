-- The e-mail flows: one-time tokens, PKCE auth codes, send frequency, the development mailbox.

-- The address a user asked to change to, until the change is confirmed.
ALTER TABLE auth_users ADD COLUMN email_change TEXT;

-- A link and a code mailed to a user, one row per user and purpose: a new mail replaces the
-- row, which voids the previous link and code. Only hashes are stored. A PKCE flow keeps the
-- client's code challenge here until the link is followed.
CREATE TABLE auth_one_time_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    link_hash TEXT NOT NULL UNIQUE,
    code_hash TEXT NOT NULL,
    address TEXT NOT NULL,
    code_challenge TEXT,
    code_challenge_method TEXT,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, purpose)
);

-- An auth code issued when a PKCE link was followed, to be exchanged once, within minutes,
-- with the verifier of its challenge.
CREATE TABLE auth_flow_states (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    auth_method TEXT NOT NULL,
    auth_code_hash TEXT NOT NULL UNIQUE,
    code_challenge TEXT NOT NULL,
    code_challenge_method TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX auth_flow_states_user_id ON auth_flow_states (user_id);

-- When a mail of each kind last went to an address (by SHA-256 of the address, whether or not
-- it has an account, so the limit tells nobody which addresses do).
CREATE TABLE auth_mail_sends (
    address_hash TEXT NOT NULL,
    purpose TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (address_hash, purpose)
);

-- Mail kept instead of sent when no SMTP server is configured (development).
CREATE TABLE auth_mailbox (
    id TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    html TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX auth_mailbox_created_at ON auth_mailbox (created_at);
