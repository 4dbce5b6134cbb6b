//! The GoTrue-compatible HTTP API on a real server, each test on SQLite and PostgreSQL.

mod helpers;

mod accounts;
mod admin;
#[cfg(feature = "captcha")]
mod captcha;
mod email;
mod gotrue_messages;
mod issue_11;
mod limits;
mod mfa;
mod outage;
mod startup;
mod tokens;
