//! `bare-axum`: serves the hand-written baseline router (`routekit_bench::router`) on
//! `127.0.0.1:$PORT` (default 3001) for the load benchmarks.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3001".to_owned());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    // The load script reads the port from this line.
    eprintln!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, routekit_bench::router()).await
}
