//! CSRF protection against a real server: every rejection path leaves the handler uncalled.

mod helpers;
mod origins;
mod pages;
mod switches;
mod tokens;
