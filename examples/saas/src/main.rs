//! Runs the example app on `HOST`:`PORT` (default 127.0.0.1:3000); `saas routes` lists its
//! routes (until the `routekit` CLI exists).

use std::io::Write;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    match std::env::args().nth(1).as_deref() {
        None => Ok(saas::app().await?.serve().await?),
        Some("routes") => {
            let config = saas::Config::from_env()?;
            let mut report = saas::routes_only(&config).routes_report();
            if config.auth.is_some() {
                report.push_str(
                    "/auth/v1/*: the embedded auth API (Bearer only, exempt from CSRF)\n",
                );
            }
            Ok(std::io::stdout().write_all(report.as_bytes())?)
        }
        Some(other) => {
            eprintln!("unknown command {other:?}; usage: saas [routes]");
            std::process::exit(2)
        }
    }
}
