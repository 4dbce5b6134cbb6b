//! The `users` table group (`auth_users`).

use super::Store;
use crate::user::User;

/// `SELECT <every user column> FROM auth_users <tail>`, as a literal (sqlx takes only static
/// SQL).
macro_rules! select_user {
    ($tail:literal) => {
        concat!(
            "SELECT id, email, password_hash, role, aud, app_metadata, user_metadata, \
             email_confirmed_at, last_sign_in_at, banned_until, created_at, updated_at, \
             email_change \
             FROM auth_users ",
            $tail
        )
    };
}

/// `UPDATE auth_users SET <column> = value, updated_at = now WHERE id = id` in `tx`, as a
/// literal (sqlx takes only static SQL).
macro_rules! set_column {
    ($tx:expr, $column:literal, $value:expr, $now:expr, $id:expr) => {
        sqlx::query(concat!(
            "UPDATE auth_users SET ",
            $column,
            " = $1, updated_at = $2 WHERE id = $3"
        ))
        .bind($value)
        .bind($now)
        .bind($id)
        .execute(&mut *$tx)
        .await?
    };
}

/// A user to insert.
pub(crate) struct NewUser<'a> {
    pub(crate) id: &'a str,
    pub(crate) email: &'a str,
    /// `None` for a user created without a password: no password signs them in.
    pub(crate) password_hash: Option<&'a str>,
    /// `app_metadata` and `user_metadata`, as JSON text.
    pub(crate) app_metadata: &'a str,
    pub(crate) user_metadata: &'a str,
    /// Set to now when sign-ups are confirmed at once.
    pub(crate) confirmed_at: Option<i64>,
    /// Set to now when the sign-up signs the user in.
    pub(crate) signed_in_at: Option<i64>,
    pub(crate) banned_until: Option<i64>,
    pub(crate) now: i64,
}

/// Changes to one user, applied in one transaction; `None` leaves a column alone. The user's
/// own (`PUT /user`) and an operator's (the admin API) alike.
#[derive(Default)]
pub(crate) struct UserChanges<'a> {
    pub(crate) email: Option<&'a str>,
    /// Sets `email_confirmed_at` to now, unless it is set already.
    pub(crate) confirm_email: bool,
    /// A new password: the user's sessions end, all but `keep_session` if there is one.
    pub(crate) password_hash: Option<&'a str>,
    pub(crate) keep_session: Option<&'a str>,
    /// `user_metadata` and `app_metadata`, merged already, as JSON text.
    pub(crate) user_metadata: Option<&'a str>,
    pub(crate) app_metadata: Option<&'a str>,
    /// `Some(None)` lifts a ban.
    pub(crate) banned_until: Option<Option<i64>>,
    pub(crate) now: i64,
}

impl Store {
    /// A user by the address they asked to change to.
    pub(crate) async fn user_by_email_change(
        &self,
        email: &str,
    ) -> Result<Option<User>, sqlx::Error> {
        sqlx::query_as(select_user!("WHERE email_change = $1"))
            .bind(email)
            .fetch_optional(&self.pool)
            .await
    }

    /// Sets (or, with `None`, drops) the address user `id` asked to change to.
    pub(crate) async fn set_email_change(
        &self,
        id: &str,
        email: Option<&str>,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        set_column!(tx, "email_change", email, now, id);
        if email.is_none() {
            sqlx::query(
                "DELETE FROM auth_one_time_tokens WHERE user_id = $1 \
                 AND purpose IN ('email_change_current', 'email_change_new')",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// Makes the address user `id` asked for theirs, confirmed: whether there was one. A
    /// unique violation means another account took it meanwhile.
    pub(crate) async fn apply_email_change(&self, id: &str, now: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE auth_users SET email = email_change, email_change = NULL, \
             email_confirmed_at = COALESCE(email_confirmed_at, $1), updated_at = $1 \
             WHERE id = $2 AND email_change IS NOT NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Inserts a user; a unique violation means the e-mail has an account.
    pub(crate) async fn insert_user(&self, user: &NewUser<'_>) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO auth_users (id, email, password_hash, role, aud, app_metadata, \
             user_metadata, email_confirmed_at, last_sign_in_at, banned_until, created_at, \
             updated_at) VALUES ($1, $2, $3, 'authenticated', 'authenticated', $4, $5, $6, $7, \
             $8, $9, $9)",
        )
        .bind(user.id)
        .bind(user.email)
        .bind(user.password_hash)
        .bind(user.app_metadata)
        .bind(user.user_metadata)
        .bind(user.confirmed_at)
        .bind(user.signed_in_at)
        .bind(user.banned_until)
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
        let now = changes.now;
        let mut tx = self.pool.begin().await?;
        if let Some(email) = changes.email {
            set_column!(tx, "email", email, now, id);
        }
        if changes.confirm_email {
            sqlx::query(
                "UPDATE auth_users SET email_confirmed_at = COALESCE(email_confirmed_at, $1), \
                 updated_at = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(hash) = changes.password_hash {
            set_column!(tx, "password_hash", hash, now, id);
            // Whoever knew the old password is signed out.
            match changes.keep_session {
                Some(keep) => {
                    sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1 AND id <> $2")
                        .bind(id)
                        .bind(keep)
                        .execute(&mut *tx)
                        .await?
                }
                None => {
                    sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?
                }
            };
        }
        if let Some(metadata) = changes.user_metadata {
            set_column!(tx, "user_metadata", metadata, now, id);
        }
        if let Some(metadata) = changes.app_metadata {
            set_column!(tx, "app_metadata", metadata, now, id);
        }
        if let Some(until) = changes.banned_until {
            set_column!(tx, "banned_until", until, now, id);
        }
        tx.commit().await
    }
}

/// What a session check needs of the user behind a live session: their `app_metadata` (for
/// the role) and their ban.
#[derive(sqlx::FromRow)]
pub(crate) struct Standing {
    pub(crate) app_metadata: String,
    pub(crate) banned_until: Option<i64>,
}

impl Store {
    /// The standing of user `user_id`, if session `session_id` exists and is theirs: one
    /// query answers whether the session is alive and what its user may do.
    pub(crate) async fn standing(
        &self,
        session_id: &str,
        user_id: &str,
    ) -> Result<Option<Standing>, sqlx::Error> {
        sqlx::query_as(
            "SELECT u.app_metadata, u.banned_until FROM auth_sessions s \
             JOIN auth_users u ON u.id = s.user_id WHERE s.id = $1 AND s.user_id = $2",
        )
        .bind(session_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await
    }

    /// One page of users, newest first (GoTrue's order), and how many there are in all.
    pub(crate) async fn users_page(
        &self,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<User>, i64), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let users = sqlx::query_as(select_user!(
            "ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2"
        ))
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *tx)
        .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM auth_users")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((users, total))
    }

    /// Deletes user `id` with their sessions, factors and mailed tokens (the foreign keys
    /// cascade): whether there was one.
    pub(crate) async fn delete_user(&self, id: &str) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // Explicit as well as cascaded, so that a database without foreign keys enforced
        // leaves nothing behind either.
        sqlx::query(
            "DELETE FROM auth_mfa_challenges WHERE factor_id IN \
             (SELECT id FROM auth_factors WHERE user_id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM auth_factors WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM auth_one_time_tokens WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM auth_flow_states WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM auth_users WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(deleted.rows_affected() == 1)
    }
}
