//! Serves the API on `HOST`:`PORT` (default 127.0.0.1:3000). `API_KEY` is the bearer token
//! the protected routes want (`Authorization: Bearer <API_KEY>`); without it they answer 401.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let config = routekit::AppConfig::from_env()?;
    let key = api::ApiKey::from_env();
    Ok(api::app(config, key).serve().await?)
}
