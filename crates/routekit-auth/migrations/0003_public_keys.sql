-- The public half of every signing key, so a key supplied by configuration (whose private
-- half is never stored) still verifies its tokens after it is replaced.
ALTER TABLE auth_signing_keys ADD COLUMN public_key TEXT;
