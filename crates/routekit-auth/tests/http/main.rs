//! The GoTrue-compatible HTTP API on a real server, each test on SQLite and PostgreSQL.

mod helpers;

mod accounts;
mod limits;
mod mfa;
mod outage;
mod tokens;
