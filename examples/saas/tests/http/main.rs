//! HTTP tests against the example app on a real server (`127.0.0.1:0`).

mod helpers;

mod admin;
mod auth;
mod conventions;
mod csrf;
mod errors;
mod issue_11;
mod methods;
mod notes;
mod serving;
mod session;
mod supabase;
