//! Runs the example app on `HOST`:`PORT` (default 127.0.0.1:3000), or on the socket
//! `routekit dev` hands it; `routekit routes` lists its routes.

/// Takes the socket first (`routekit::listener`: the one `routekit dev` hands over, else
/// `HOST`:`PORT` bound here), so that without `ROUTEKIT_AUTH_SITE_URL` the mailed links lead
/// to the address the server really listens on (`PORT=0` included), then serves until
/// SIGINT or SIGTERM.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    routekit::init_logging();
    let listener = routekit::listener().await?;
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
