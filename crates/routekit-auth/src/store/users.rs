//! The `users` table group (`auth_users`).

use super::Store;
use crate::user::User;

/// `SELECT <every user column> FROM auth_users <tail>`, as a literal (sqlx takes only static
/// SQL).
macro_rules! select_user {
    ($tail:literal) => {
        concat!(
            "SELECT id, email, password_hash, role, aud, app_metadata, user_metadata, \
             email_confirmed_at, last_sign_in_at, banned_until, created_at, updated_at \
             FROM auth_users ",
            $tail
        )
    };
}

/// A user to insert.
pub(crate) struct NewUser<'a> {
    pub(crate) id: &'a str,
    pub(crate) email: &'a str,
    pub(crate) password_hash: &'a str,
    /// `app_metadata` and `user_metadata`, as JSON text.
    pub(crate) app_metadata: &'a str,
    pub(crate) user_metadata: &'a str,
    /// Set to now when sign-ups are confirmed at once.
    pub(crate) confirmed_at: Option<i64>,
    pub(crate) now: i64,
}

/// Changes to one user, applied in one transaction; `None` leaves a column alone.
pub(crate) struct UserChanges<'a> {
    pub(crate) email: Option<&'a str>,
    pub(crate) password_hash: Option<&'a str>,
    /// `user_metadata`, as JSON text.
    pub(crate) user_metadata: Option<&'a str>,
    /// With a new password, the user's other sessions than this one end.
    pub(crate) keep_session: &'a str,
    pub(crate) now: i64,
}

impl Store {
    /// Inserts a user; a unique violation means the e-mail has an account.
    pub(crate) async fn insert_user(&self, user: &NewUser<'_>) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO auth_users (id, email, password_hash, role, aud, app_metadata, \
             user_metadata, email_confirmed_at, last_sign_in_at, banned_until, created_at, \
             updated_at) VALUES ($1, $2, $3, 'authenticated', 'authenticated', $4, $5, $6, $6, \
             NULL, $7, $7)",
        )
        .bind(user.id)
        .bind(user.email)
        .bind(user.password_hash)
        .bind(user.app_metadata)
        .bind(user.user_metadata)
        .bind(user.confirmed_at)
        .bind(user.now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A user by id.
    pub(crate) async fn user_by_id(&self, id: &str) -> Result<Option<User>, sqlx::Error> {
        sqlx::query_as(select_user!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// A user by (normalised) e-mail.
    pub(crate) async fn user_by_email(&self, email: &str) -> Result<Option<User>, sqlx::Error> {
        sqlx::query_as(select_user!("WHERE email = $1"))
            .bind(email)
            .fetch_optional(&self.pool)
            .await
    }

    /// Records a password sign-in.
    pub(crate) async fn record_sign_in(&self, id: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE auth_users SET last_sign_in_at = $1, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Applies `changes` to user `id` in one transaction: all of them or none. A unique
    /// violation means the new e-mail has another account.
    pub(crate) async fn update_user(
        &self,
        id: &str,
        changes: &UserChanges<'_>,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if let Some(email) = changes.email {
            sqlx::query("UPDATE auth_users SET email = $1, updated_at = $2 WHERE id = $3")
                .bind(email)
                .bind(changes.now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(hash) = changes.password_hash {
            sqlx::query("UPDATE auth_users SET password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(hash)
                .bind(changes.now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1 AND id <> $2")
                .bind(id)
                .bind(changes.keep_session)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(metadata) = changes.user_metadata {
            sqlx::query("UPDATE auth_users SET user_metadata = $1, updated_at = $2 WHERE id = $3")
                .bind(metadata)
                .bind(changes.now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }
}
