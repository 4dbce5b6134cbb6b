//! The e-mail flows' tables: one-time tokens, PKCE flow states, send times, the mailbox.

use super::Store;

/// A mailed link and code to store; it replaces the user's previous one for `purpose`.
pub(crate) struct NewToken<'a> {
    pub(crate) id: &'a str,
    pub(crate) user_id: &'a str,
    pub(crate) purpose: &'a str,
    pub(crate) link_hash: &'a str,
    pub(crate) code_hash: &'a str,
    pub(crate) address: &'a str,
    /// The PKCE challenge and method, for a PKCE flow.
    pub(crate) pkce: Option<(&'a str, &'a str)>,
    pub(crate) now: i64,
}

/// A stored one-time token.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct TokenRow {
    pub(crate) id: String,
    pub(crate) user_id: String,
    pub(crate) purpose: String,
    pub(crate) code_hash: String,
    pub(crate) code_challenge: Option<String>,
    pub(crate) code_challenge_method: Option<String>,
    pub(crate) created_at: i64,
}

/// A PKCE auth code's flow state.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct FlowStateRow {
    pub(crate) user_id: String,
    pub(crate) auth_method: String,
    pub(crate) code_challenge: String,
    pub(crate) code_challenge_method: String,
    pub(crate) created_at: i64,
}

/// A mail kept in the development mailbox.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
#[non_exhaustive]
pub struct MailboxEntry {
    /// Its id.
    pub id: String,
    /// The address it was for.
    pub recipient: String,
    /// The subject line.
    pub subject: String,
    /// The HTML part.
    pub html: String,
    /// The text part.
    pub text: String,
    /// When it was kept (unix seconds).
    pub created_at: i64,
}

/// The columns of a [`TokenRow`], as a literal (sqlx takes only static SQL).
macro_rules! token_columns {
    () => {
        "id, user_id, purpose, code_hash, code_challenge, code_challenge_method, \
         created_at"
    };
}

impl Store {
    /// Stores a token, replacing (and so voiding) the user's previous one of its purpose.
    pub(crate) async fn put_token(&self, token: &NewToken<'_>) -> Result<(), sqlx::Error> {
        let (challenge, method) = token.pkce.unzip();
        sqlx::query(
            "INSERT INTO auth_one_time_tokens (id, user_id, purpose, link_hash, code_hash, \
             address, code_challenge, code_challenge_method, failed_attempts, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9) \
             ON CONFLICT (user_id, purpose) DO UPDATE SET id = excluded.id, \
             link_hash = excluded.link_hash, code_hash = excluded.code_hash, \
             address = excluded.address, code_challenge = excluded.code_challenge, \
             code_challenge_method = excluded.code_challenge_method, failed_attempts = 0, \
             created_at = excluded.created_at",
        )
        .bind(token.id)
        .bind(token.user_id)
        .bind(token.purpose)
        .bind(token.link_hash)
        .bind(token.code_hash)
        .bind(token.address)
        .bind(challenge)
        .bind(method)
        .bind(token.now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes (deletes and returns) the token whose link hashes to `link_hash`, if it serves
    /// one of `purposes`: a link works once, even when two requests race with it.
    pub(crate) async fn take_token_by_link(
        &self,
        link_hash: &str,
        purposes: &[&str],
    ) -> Result<Option<TokenRow>, sqlx::Error> {
        let [first, second] = match purposes {
            [one] => [*one, *one],
            [one, two, ..] => [*one, *two],
            [] => return Ok(None),
        };
        sqlx::query_as(concat!(
            "DELETE FROM auth_one_time_tokens WHERE link_hash = $1 AND purpose IN ($2, $3) \
             RETURNING ",
            token_columns!()
        ))
        .bind(link_hash)
        .bind(first)
        .bind(second)
        .fetch_optional(&self.pool)
        .await
    }

    /// The user's tokens for `purposes`.
    pub(crate) async fn tokens_of(
        &self,
        user_id: &str,
        purposes: &[&str],
    ) -> Result<Vec<TokenRow>, sqlx::Error> {
        let [first, second] = match purposes {
            [one] => [*one, *one],
            [one, two, ..] => [*one, *two],
            [] => return Ok(Vec::new()),
        };
        sqlx::query_as(concat!(
            "SELECT ",
            token_columns!(),
            " FROM auth_one_time_tokens WHERE user_id = $1 AND purpose IN ($2, $3) \
             ORDER BY created_at DESC"
        ))
        .bind(user_id)
        .bind(first)
        .bind(second)
        .fetch_all(&self.pool)
        .await
    }

    /// Deletes token `id`: whether this call did (a used token is used once).
    pub(crate) async fn delete_token(&self, id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM auth_one_time_tokens WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Counts a wrong code against token `id`; at `max` wrong codes the token is deleted, so
    /// six digits cannot be guessed. Whether the token is still there.
    pub(crate) async fn fail_token(&self, id: &str, max: i64) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE auth_one_time_tokens SET failed_attempts = failed_attempts + 1 WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let gone =
            sqlx::query("DELETE FROM auth_one_time_tokens WHERE id = $1 AND failed_attempts >= $2")
                .bind(id)
                .bind(max)
                .execute(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(gone.rows_affected() == 0)
    }

    /// Records a send to `address_hash` for `purpose` at `now`, unless one was recorded after
    /// `not_after`: whether this call may send. Atomic, so two racing requests send once.
    pub(crate) async fn claim_send(
        &self,
        address_hash: &str,
        purpose: &str,
        now: i64,
        not_after: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO auth_mail_sends (address_hash, purpose, sent_at) VALUES ($1, $2, $3) \
             ON CONFLICT (address_hash, purpose) DO UPDATE SET sent_at = excluded.sent_at \
             WHERE auth_mail_sends.sent_at <= $4",
        )
        .bind(address_hash)
        .bind(purpose)
        .bind(now)
        .bind(not_after)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Undoes [`Store::claim_send`] for a mail that did not go out, so the user may ask again.
    pub(crate) async fn release_send(
        &self,
        address_hash: &str,
        purpose: &str,
        sent_at: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "DELETE FROM auth_mail_sends WHERE address_hash = $1 AND purpose = $2 AND sent_at = $3",
        )
        .bind(address_hash)
        .bind(purpose)
        .bind(sent_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores the flow state of a PKCE auth code.
    pub(crate) async fn put_flow_state(
        &self,
        user_id: &str,
        auth_method: &str,
        auth_code_hash: &str,
        (challenge, method): (&str, &str),
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO auth_flow_states (id, user_id, auth_method, auth_code_hash, \
             code_challenge, code_challenge_method, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(user_id)
        .bind(auth_method)
        .bind(auth_code_hash)
        .bind(challenge)
        .bind(method)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The flow state of an auth code, if there is one.
    pub(crate) async fn flow_state(
        &self,
        auth_code_hash: &str,
    ) -> Result<Option<FlowStateRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT user_id, auth_method, code_challenge, code_challenge_method, created_at \
             FROM auth_flow_states WHERE auth_code_hash = $1",
        )
        .bind(auth_code_hash)
        .fetch_optional(&self.pool)
        .await
    }

    /// Deletes an auth code's flow state: whether this call did (a code is exchanged once).
    pub(crate) async fn take_flow_state(&self, auth_code_hash: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM auth_flow_states WHERE auth_code_hash = $1")
            .bind(auth_code_hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes what can no longer be used: tokens created at or before `tokens_before`, auth
    /// codes at or before `codes_before`, send times at or before `sends_before`, and mailbox
    /// mail at or before `mail_before`. How many rows went, in that order.
    pub(crate) async fn purge(
        &self,
        tokens_before: i64,
        codes_before: i64,
        sends_before: i64,
        mail_before: i64,
    ) -> Result<[u64; 4], sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let tokens = sqlx::query("DELETE FROM auth_one_time_tokens WHERE created_at <= $1")
            .bind(tokens_before)
            .execute(&mut *tx)
            .await?;
        let codes = sqlx::query("DELETE FROM auth_flow_states WHERE created_at <= $1")
            .bind(codes_before)
            .execute(&mut *tx)
            .await?;
        let sends = sqlx::query("DELETE FROM auth_mail_sends WHERE sent_at <= $1")
            .bind(sends_before)
            .execute(&mut *tx)
            .await?;
        let mail = sqlx::query("DELETE FROM auth_mailbox WHERE created_at <= $1")
            .bind(mail_before)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok([
            tokens.rows_affected(),
            codes.rows_affected(),
            sends.rows_affected(),
            mail.rows_affected(),
        ])
    }

    /// Keeps a mail in the development mailbox.
    pub(crate) async fn put_mail(&self, mail: &MailboxEntry) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO auth_mailbox (id, recipient, subject, html, text, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&mail.id)
        .bind(&mail.recipient)
        .bind(&mail.subject)
        .bind(&mail.html)
        .bind(&mail.text)
        .bind(mail.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The development mailbox, newest first, at most `limit` mails: what the embedded server
    /// would have sent, had SMTP been configured.
    ///
    /// ```no_run
    /// # async fn f(store: routekit_auth::Store) -> Result<(), sqlx::Error> {
    /// for mail in store.mailbox(20).await? {
    ///     println!("{} — {}", mail.recipient, mail.subject);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn mailbox(&self, limit: i64) -> Result<Vec<MailboxEntry>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, recipient, subject, html, text, created_at FROM auth_mailbox \
             ORDER BY created_at DESC, id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }
}
