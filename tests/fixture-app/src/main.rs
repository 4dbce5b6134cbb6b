//! Serves the fixture app on `HOST`:`PORT` (default 127.0.0.1:3000), for the load benchmarks.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let config = routekit::AppConfig::from_env()?;
    Ok(routekit_fixture_app::app(config).serve().await?)
}
