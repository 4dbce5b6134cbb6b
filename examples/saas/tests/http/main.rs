//! HTTP tests against the example app on a real server (`127.0.0.1:0`).

mod helpers;

mod admin;
mod auth;
mod csrf;
mod issue_11;
mod notes;
mod serving;
mod session;
mod supabase;
