//! The `factors` table group: MFA factors (`auth_factors`, secrets sealed) and their
//! challenges (`auth_mfa_challenges`).

use super::Store;
use crate::factor::{Factor, FactorStatus, FactorType};

/// A factor to insert, unverified.
pub(crate) struct NewFactor<'a> {
    pub(crate) id: &'a str,
    pub(crate) user_id: &'a str,
    pub(crate) friendly_name: Option<&'a str>,
    pub(crate) factor_type: FactorType,
    /// The secret, sealed to this row.
    pub(crate) sealed_secret: &'a str,
    pub(crate) now: i64,
}

/// A challenge joined with its factor, as verification reads it.
#[derive(sqlx::FromRow)]
pub(crate) struct ChallengeRow {
    /// The client the challenge was opened for.
    pub(crate) ip: String,
    pub(crate) created_at: i64,
    pub(crate) verified_at: Option<i64>,
    /// The factor's sealed secret.
    pub(crate) secret: String,
    pub(crate) failed_attempts: i64,
    pub(crate) locked_until: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct FactorRow {
    id: String,
    friendly_name: Option<String>,
    factor_type: String,
    status: String,
    created_at: i64,
    updated_at: i64,
    last_challenged_at: Option<i64>,
}

fn unknown(what: &str, text: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("stored {what} {text:?}").into())
}

fn status(text: &str) -> Result<FactorStatus, sqlx::Error> {
    FactorStatus::from_name(text).ok_or_else(|| unknown("factor status", text))
}

impl Store {
    /// User `user_id`'s factors, oldest first.
    pub(crate) async fn factors(&self, user_id: &str) -> Result<Vec<Factor>, sqlx::Error> {
        let rows: Vec<FactorRow> = sqlx::query_as(
            "SELECT id, friendly_name, factor_type, status, created_at, updated_at, \
             last_challenged_at FROM auth_factors WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|f| {
                Ok(Factor {
                    factor_type: FactorType::from_name(&f.factor_type)
                        .ok_or_else(|| unknown("factor type", &f.factor_type))?,
                    status: status(&f.status)?,
                    id: f.id,
                    friendly_name: f.friendly_name.unwrap_or_default(),
                    created_at: f.created_at,
                    updated_at: f.updated_at,
                    last_challenged_at: f.last_challenged_at,
                })
            })
            .collect()
    }

    /// The oldest verified factor of this type of user `user_id`.
    pub(crate) async fn verified_factor(
        &self,
        user_id: &str,
        factor_type: FactorType,
    ) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT id FROM auth_factors WHERE user_id = $1 AND status = 'verified' \
             AND factor_type = $2 ORDER BY created_at, id LIMIT 1",
        )
        .bind(user_id)
        .bind(factor_type.as_str())
        .fetch_optional(&self.pool)
        .await
    }

    /// Whether user `user_id` has a verified factor of any type.
    pub(crate) async fn has_verified_factor(&self, user_id: &str) -> Result<bool, sqlx::Error> {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT id FROM auth_factors WHERE user_id = $1 AND status = 'verified' LIMIT 1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// The status of factor `id`, if it is user `user_id`'s.
    pub(crate) async fn factor_status(
        &self,
        id: &str,
        user_id: &str,
    ) -> Result<Option<FactorStatus>, sqlx::Error> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT status FROM auth_factors WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        text.as_deref().map(status).transpose()
    }

    /// Deletes user `user_id`'s unverified factors created before `before` (enrolments
    /// nobody finished) and counts the factors left.
    pub(crate) async fn count_factors_after_cleanup(
        &self,
        user_id: &str,
        before: i64,
    ) -> Result<i64, sqlx::Error> {
        sqlx::query(
            "DELETE FROM auth_factors WHERE user_id = $1 AND status = 'unverified' \
             AND created_at < $2",
        )
        .bind(user_id)
        .bind(before)
        .execute(&self.pool)
        .await?;
        sqlx::query_scalar("SELECT COUNT(*) FROM auth_factors WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&self.pool)
            .await
    }

    /// Inserts a factor; a unique violation means the user has one of this friendly name.
    pub(crate) async fn insert_factor(&self, f: &NewFactor<'_>) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO auth_factors (id, user_id, friendly_name, factor_type, status, secret, \
             last_used_step, created_at, updated_at, last_challenged_at) \
             VALUES ($1, $2, $3, $4, 'unverified', $5, NULL, $6, $6, NULL)",
        )
        .bind(f.id)
        .bind(f.user_id)
        .bind(f.friendly_name)
        .bind(f.factor_type.as_str())
        .bind(f.sealed_secret)
        .bind(f.now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deletes factor `id` (its challenges go with it).
    pub(crate) async fn delete_factor(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM auth_factors WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes user `user_id`'s unverified factors of this type.
    pub(crate) async fn delete_unverified_factors(
        &self,
        user_id: &str,
        factor_type: FactorType,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "DELETE FROM auth_factors WHERE user_id = $1 AND status = 'unverified' \
             AND factor_type = $2",
        )
        .bind(user_id)
        .bind(factor_type.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Opens challenge `id` on factor `factor_id` for client `ip`, deleting the factor's used
    /// challenges and those created before `stale_before`.
    pub(crate) async fn open_challenge(
        &self,
        id: &str,
        factor_id: &str,
        ip: &str,
        now: i64,
        stale_before: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM auth_mfa_challenges WHERE factor_id = $1 \
             AND (verified_at IS NOT NULL OR created_at < $2)",
        )
        .bind(factor_id)
        .bind(stale_before)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO auth_mfa_challenges (id, factor_id, ip, created_at, verified_at) \
             VALUES ($1, $2, $3, $4, NULL)",
        )
        .bind(id)
        .bind(factor_id)
        .bind(ip)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE auth_factors SET last_challenged_at = $1 WHERE id = $2")
            .bind(now)
            .bind(factor_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Challenge `id` of user `user_id`'s factor `factor_id`, with the factor's secret and
    /// failure count.
    pub(crate) async fn challenge(
        &self,
        id: &str,
        factor_id: &str,
        user_id: &str,
    ) -> Result<Option<ChallengeRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT c.ip, c.created_at, c.verified_at, f.secret, f.failed_attempts, \
             f.locked_until \
             FROM auth_mfa_challenges c JOIN auth_factors f ON f.id = c.factor_id \
             WHERE c.id = $1 AND f.id = $2 AND f.user_id = $3",
        )
        .bind(id)
        .bind(factor_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await
    }

    /// Deletes challenge `id`.
    pub(crate) async fn delete_challenge(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM auth_mfa_challenges WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Closes challenge `id` if it is open: whether this call did.
    pub(crate) async fn close_challenge(&self, id: &str, now: i64) -> Result<bool, sqlx::Error> {
        let closed = sqlx::query(
            "UPDATE auth_mfa_challenges SET verified_at = $1 WHERE id = $2 AND verified_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(closed.rows_affected() == 1)
    }

    /// Moves factor `id`'s failure count from `from` to `from + 1` and its lock to
    /// `locked_until`, if no one else moved it first (compare-and-swap): whether this call
    /// did.
    pub(crate) async fn count_attempt(
        &self,
        id: &str,
        from: i64,
        locked_until: Option<i64>,
    ) -> Result<bool, sqlx::Error> {
        let claimed = sqlx::query(
            "UPDATE auth_factors SET failed_attempts = $1, locked_until = $2 \
             WHERE id = $3 AND failed_attempts = $4",
        )
        .bind(from + 1)
        .bind(locked_until)
        .bind(id)
        .bind(from)
        .execute(&self.pool)
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    /// Factor `id`'s failure count and lock, if it exists.
    pub(crate) async fn attempts(
        &self,
        id: &str,
    ) -> Result<Option<(i64, Option<i64>)>, sqlx::Error> {
        sqlx::query_as("SELECT failed_attempts, locked_until FROM auth_factors WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Accepts time step `step` for factor `id` if it is later than every step accepted
    /// before, marking the factor verified and clearing its failures: whether it was.
    pub(crate) async fn accept_step(
        &self,
        id: &str,
        step: i64,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let accepted = sqlx::query(
            "UPDATE auth_factors SET last_used_step = $1, status = 'verified', updated_at = $2, \
             failed_attempts = 0, locked_until = NULL \
             WHERE id = $3 AND (last_used_step IS NULL OR last_used_step < $1)",
        )
        .bind(step)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(accepted.rows_affected() == 1)
    }
}
