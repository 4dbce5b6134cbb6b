//! `saas-echo`: the example app, configured from the environment as `saas` is, with
//! [`routekit_bench::routekit_extras`] merged in. Its `POST /bench/echo-note` is routekit's
//! twin of `bare-axum`'s `POST /api/notes` (a session, a CSRF token, a JSON echo), where the
//! example's own `POST /api/notes` also writes the note to its database. `bench/session.sh`
//! measures both against the baseline.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let app = saas::app_with(saas::Config::from_env()?)
        .await?
        .merge(routekit_bench::routekit_extras());
    Ok(app.serve().await?)
}
