//! Runs the example app on `HOST`:`PORT` (default 127.0.0.1:3000).

#[tokio::main]
async fn main() -> std::io::Result<()> {
    saas::app().serve().await
}
