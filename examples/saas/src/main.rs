//! Runs the example app on `HOST`:`PORT` (default 127.0.0.1:3000); `saas routes` lists its
//! routes (until the `routekit` CLI exists).

use std::io::Write;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    match std::env::args().nth(1).as_deref() {
        None => saas::app().serve().await,
        Some("routes") => std::io::stdout().write_all(saas::app().routes_report().as_bytes()),
        Some(other) => {
            eprintln!("unknown command {other:?}; usage: saas [routes]");
            std::process::exit(2)
        }
    }
}
