//! The `routekit` command's library: each subcommand is a module that the binary
//! (`src/main.rs`) parses arguments for and prints.
//!
//! - [`auth`]: `routekit auth` administers users, sessions and keys in the app's database.
//! - `dev` (Unix): `routekit dev` builds, serves and rebuilds on save without dropping the
//!   server.
//! - [`new`]: `routekit new <dir>` writes a project that builds and runs at once.
//! - [`routes`]: `routekit routes` reads the route table of a project without building it.
//! - [`term`]: colour only on a terminal, never with `NO_COLOR`.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::create_dir_all(dir.path().join("app")).unwrap();
//! std::fs::write(dir.path().join("app/route.rs"), "pub async fn GET() {}").unwrap();
//! let report = routekit_cli::routes::read(dir.path()).unwrap();
//! assert_eq!(report.rows[0].url, "/");
//! ```

pub mod auth;
#[cfg(unix)]
pub mod dev;
pub mod new;
pub mod routes;
pub mod term;
