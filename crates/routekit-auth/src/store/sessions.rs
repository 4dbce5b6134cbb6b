//! The `sessions` table group (`auth_sessions`): one row per signed-in session, with its
//! assurance level, methods and refresh-token counter.

use super::Store;
use crate::jws::{Aal, Amr, AuthMethod};

/// A session to insert, at refresh counter 0.
pub(crate) struct NewSession<'a> {
    pub(crate) id: &'a str,
    pub(crate) user_id: &'a str,
    pub(crate) aal: Aal,
    /// Oldest first.
    pub(crate) amr: &'a [Amr],
    /// The SHA-256 of the first refresh token.
    pub(crate) refresh_hash: &'a str,
    pub(crate) now: i64,
}

/// A stored session, as a refresh reads it.
pub(crate) struct SessionRow {
    pub(crate) user_id: String,
    pub(crate) aal: Aal,
    /// Oldest first.
    pub(crate) amr: Vec<Amr>,
    pub(crate) refresh_counter: u64,
    pub(crate) refresh_hash: String,
    pub(crate) refreshed_at: i64,
}

/// Which of a user's sessions to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sessions<'a> {
    /// All of them.
    All,
    /// This one.
    Only(&'a str),
    /// All but this one.
    AllBut(&'a str),
    /// This one and every `aal1` one (a session that reached `aal2`).
    ThisAndAal1(&'a str),
}

fn decode_error(e: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

fn amr_json(amr: &[Amr]) -> Result<String, sqlx::Error> {
    serde_json::to_string(amr).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

fn parse_amr(text: &str) -> Result<Vec<Amr>, sqlx::Error> {
    serde_json::from_str(text).map_err(decode_error)
}

impl Store {
    /// Inserts a session.
    pub(crate) async fn insert_session(&self, s: &NewSession<'_>) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO auth_sessions (id, user_id, aal, amr, refresh_counter, refresh_hash, \
             refreshed_at, created_at, updated_at) VALUES ($1, $2, $3, $4, 0, $5, $6, $6, $6)",
        )
        .bind(s.id)
        .bind(s.user_id)
        .bind(s.aal.as_str())
        .bind(amr_json(s.amr)?)
        .bind(s.refresh_hash)
        .bind(s.now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A session by id.
    pub(crate) async fn session(&self, id: &str) -> Result<Option<SessionRow>, sqlx::Error> {
        let row: Option<(String, String, String, i64, String, i64)> = sqlx::query_as(
            "SELECT user_id, aal, amr, refresh_counter, refresh_hash, refreshed_at \
             FROM auth_sessions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(user_id, aal, amr, counter, refresh_hash, refreshed_at)| {
            Ok(SessionRow {
                user_id,
                aal: aal.parse().map_err(decode_error)?,
                amr: parse_amr(&amr)?,
                refresh_counter: counter as u64,
                refresh_hash,
                refreshed_at,
            })
        })
        .transpose()
    }

    /// When session `id` was created (its sign-in), if it exists.
    pub(crate) async fn session_created_at(&self, id: &str) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT created_at FROM auth_sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Whose session `id` is, if it exists.
    pub(crate) async fn session_owner(&self, id: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT user_id FROM auth_sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// The methods of user `user_id`'s session `id`, oldest first, if it exists.
    pub(crate) async fn session_amr(
        &self,
        id: &str,
        user_id: &str,
    ) -> Result<Option<Vec<Amr>>, sqlx::Error> {
        let amr: Option<String> =
            sqlx::query_scalar("SELECT amr FROM auth_sessions WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        amr.as_deref().map(parse_amr).transpose()
    }

    /// Moves session `id` from refresh counter `from` to `from + 1` with the new token's
    /// hash, if no one else moved it first (compare-and-swap): whether this call did.
    pub(crate) async fn rotate_refresh(
        &self,
        id: &str,
        from: u64,
        refresh_hash: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let swapped = sqlx::query(
            "UPDATE auth_sessions SET refresh_counter = $1, refresh_hash = $2, \
             refreshed_at = $3, updated_at = $3 WHERE id = $4 AND refresh_counter = $5",
        )
        .bind((from + 1) as i64)
        .bind(refresh_hash)
        .bind(now)
        .bind(id)
        .bind(from as i64)
        .execute(&self.pool)
        .await?;
        Ok(swapped.rows_affected() == 1)
    }

    /// Deletes session `id`, whoever's it is.
    pub(crate) async fn delete_session(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM auth_sessions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends some of user `user_id`'s sessions.
    pub(crate) async fn end_sessions(
        &self,
        user_id: &str,
        which: Sessions<'_>,
    ) -> Result<(), sqlx::Error> {
        let query = match which {
            Sessions::All => {
                sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1").bind(user_id)
            }
            Sessions::Only(id) => {
                sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1 AND id = $2")
                    .bind(user_id)
                    .bind(id)
            }
            Sessions::AllBut(id) => {
                sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1 AND id <> $2")
                    .bind(user_id)
                    .bind(id)
            }
            Sessions::ThisAndAal1(id) => sqlx::query(
                "DELETE FROM auth_sessions WHERE user_id = $1 AND (id = $2 OR aal = 'aal1')",
            )
            .bind(user_id)
            .bind(id),
        };
        query.execute(&self.pool).await?;
        Ok(())
    }

    /// Drops every `aal2` session of user `user_id` back to `aal1`, removing `method` from
    /// their methods (the user's last verified factor is gone).
    pub(crate) async fn downgrade_sessions(
        &self,
        user_id: &str,
        method: &AuthMethod,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let sessions: Vec<(String, String)> =
            sqlx::query_as("SELECT id, amr FROM auth_sessions WHERE user_id = $1 AND aal = 'aal2'")
                .bind(user_id)
                .fetch_all(&mut *tx)
                .await?;
        for (id, amr) in sessions {
            let mut amr = parse_amr(&amr)?;
            amr.retain(|a| a.method != *method);
            sqlx::query(
                "UPDATE auth_sessions SET aal = 'aal1', amr = $1, updated_at = $2 WHERE id = $3",
            )
            .bind(amr_json(&amr)?)
            .bind(now)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }
}
