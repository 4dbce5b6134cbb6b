//! The `keys` table group: signing keys (`auth_signing_keys`) and server secrets
//! (`auth_secrets`).

use super::Store;

/// A stored signing key: its private half (empty for a key supplied by configuration), its
/// public half, and when it was retired.
pub(crate) struct SigningKeyRow {
    pub(crate) kid: String,
    pub(crate) private_key: String,
    pub(crate) public_key: Option<String>,
    pub(crate) retired_at: Option<i64>,
}

impl Store {
    /// Every signing key, oldest first.
    pub(crate) async fn signing_keys(&self) -> Result<Vec<SigningKeyRow>, sqlx::Error> {
        let rows: Vec<(String, String, Option<String>, Option<i64>)> = sqlx::query_as(
            "SELECT kid, private_key, public_key, retired_at FROM auth_signing_keys \
             ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(kid, private_key, public_key, retired_at)| SigningKeyRow {
                kid,
                private_key,
                public_key,
                retired_at,
            })
            .collect())
    }

    /// Makes `kid` the one active key (inserting it when new) and retires the others, in one
    /// transaction.
    pub(crate) async fn activate_signing_key(
        &self,
        kid: &str,
        private_key: &str,
        public_key: &str,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE auth_signing_keys SET retired_at = $1 WHERE retired_at IS NULL AND kid <> $2",
        )
        .bind(now)
        .bind(kid)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO auth_signing_keys (kid, private_key, public_key, created_at, retired_at) \
             VALUES ($1, $2, $3, $4, NULL) ON CONFLICT (kid) DO NOTHING",
        )
        .bind(kid)
        .bind(private_key)
        .bind(public_key)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE auth_signing_keys SET retired_at = NULL WHERE kid = $1")
            .bind(kid)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// The value of server secret `name`, created with `create` on first use. Instances
    /// sharing a database agree on it: the first insert wins and everyone reads that.
    pub(crate) async fn secret(
        &self,
        name: &str,
        create: impl FnOnce() -> String,
    ) -> Result<String, sqlx::Error> {
        sqlx::query(
            "INSERT INTO auth_secrets (name, value, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(create())
        .bind(crate::now())
        .execute(&self.pool)
        .await?;
        sqlx::query_scalar("SELECT value FROM auth_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
    }
}
