//! The notes table: every query the app runs on it, each scoped to one owner, so that no
//! route can read or change another user's note by forgetting a `WHERE`.

use routekit::Db;
use serde::Serialize;

/// The most notes one user keeps; creating one more is refused (409 `note_limit_reached`).
pub(crate) const MAX_NOTES: i64 = 1000;

/// A note, as the API answers it (times in unix milliseconds).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub(crate) struct Note {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) body: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

/// The columns of [`Note`], as a literal (sqlx takes only static SQL).
macro_rules! note_columns {
    () => {
        "id, title, body, created_at, updated_at"
    };
}

/// One user's notes.
#[derive(Clone, Copy)]
pub(crate) struct Notes<'a> {
    db: &'a Db,
    owner: &'a str,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl<'a> Notes<'a> {
    pub(crate) fn of(db: &'a Db, owner: &'a str) -> Self {
        Notes { db, owner }
    }

    /// Newest first.
    pub(crate) async fn list(self) -> Result<Vec<Note>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            note_columns!(),
            " FROM notes WHERE owner_id = $1 ORDER BY created_at DESC, id DESC"
        ))
        .bind(self.owner)
        .fetch_all(self.db.pool())
        .await
    }

    /// The note, if it is this owner's.
    pub(crate) async fn get(self, id: &str) -> Result<Option<Note>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            note_columns!(),
            " FROM notes WHERE id = $1 AND owner_id = $2"
        ))
        .bind(id)
        .bind(self.owner)
        .fetch_optional(self.db.pool())
        .await
    }

    /// A new note, or `None` when the owner has [`MAX_NOTES`] already. The count and the
    /// insert are one statement, so that concurrent creates cannot pass the limit together.
    pub(crate) async fn create(self, title: &str, body: &str) -> Result<Option<Note>, sqlx::Error> {
        let now = now_ms();
        // UUIDv7: ids that sort as the notes were made, within a millisecond too (the uuid
        // crate counts within one), so that "newest first" is stable.
        let id = uuid::Uuid::now_v7().to_string();
        sqlx::query_as(concat!(
            "INSERT INTO notes (id, owner_id, title, body, created_at, updated_at) ",
            "SELECT $1, $2, $3, $4, $5, $5 ",
            "WHERE (SELECT COUNT(*) FROM notes WHERE owner_id = $2) < $6 ",
            "RETURNING ",
            note_columns!()
        ))
        .bind(&id)
        .bind(self.owner)
        .bind(title)
        .bind(body)
        .bind(now)
        .bind(MAX_NOTES)
        .fetch_optional(self.db.pool())
        .await
    }

    /// Changes the given fields of the owner's note; `None` when there is no such note.
    pub(crate) async fn update(
        self,
        id: &str,
        title: Option<&str>,
        body: Option<&str>,
    ) -> Result<Option<Note>, sqlx::Error> {
        sqlx::query_as(concat!(
            "UPDATE notes SET title = COALESCE($1, title), body = COALESCE($2, body), ",
            "updated_at = $3 WHERE id = $4 AND owner_id = $5 RETURNING ",
            note_columns!()
        ))
        .bind(title)
        .bind(body)
        .bind(now_ms())
        .bind(id)
        .bind(self.owner)
        .fetch_optional(self.db.pool())
        .await
    }

    /// Deletes every note of the owner (their account is being deleted).
    pub(crate) async fn delete_all(self) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM notes WHERE owner_id = $1")
            .bind(self.owner)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Deletes the owner's note; whether there was one.
    pub(crate) async fn delete(self, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM notes WHERE id = $1 AND owner_id = $2")
            .bind(id)
            .bind(self.owner)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
