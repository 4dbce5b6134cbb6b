-- Failed TOTP codes per factor: after a few in a row the factor is locked for a growing
-- time, so six digits cannot be guessed however many addresses or sessions an attacker has.

ALTER TABLE auth_factors ADD COLUMN failed_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE auth_factors ADD COLUMN locked_until BIGINT;

CREATE INDEX auth_mfa_challenges_factor_id ON auth_mfa_challenges (factor_id);
