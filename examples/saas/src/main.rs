//! Runs the example app on `HOST`:`PORT` (default 127.0.0.1:3000); `saas routes` lists its
//! routes (until the `routekit` CLI exists).

use std::io::Write;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    match std::env::args().nth(1).as_deref() {
        None => serve().await,
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

/// Binds `HOST`:`PORT` first, so that without `ROUTEKIT_AUTH_SITE_URL` the mailed links lead
/// to the address the server really listens on (`PORT=0` included), then serves until
/// SIGINT or SIGTERM.
async fn serve() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    routekit::init_logging();
    let addr = routekit::bind_address()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    let mut config = saas::Config::from_env()?;
    if let Some(auth) = config.auth.as_mut()
        && std::env::var_os("ROUTEKIT_AUTH_SITE_URL").is_none()
    {
        let site = if local.ip().is_unspecified() {
            format!("http://localhost:{}", local.port())
        } else {
            format!("http://{local}")
        };
        *auth = auth.clone().with_site_url(site);
    }
    let app = saas::app_with(config).await?;
    app.check()?;
    let shutdown = routekit::shutdown_signal();
    tracing::info!("listening on http://{local}");
    Ok(routekit::serve_with_shutdown(listener, app, shutdown).await?)
}
