//! Binding, serving and graceful shutdown.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::app::App;

/// The address `HOST` and `PORT` name, defaulting to `127.0.0.1:3000`.
///
/// ```
/// // With neither variable set:
/// # unsafe { std::env::remove_var("HOST"); std::env::remove_var("PORT"); }
/// assert_eq!(routekit::bind_address().unwrap().to_string(), "127.0.0.1:3000");
/// ```
pub fn bind_address() -> io::Result<SocketAddr> {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_owned());
    let port: u16 = port.parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("PORT must be a number from 0 to 65535, not {port:?}"),
        )
    })?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip = host.parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("HOST must be an IP address, not {host:?}"),
        )
    })?;
    Ok(SocketAddr::new(ip, port))
}

/// The socket to serve on: the one a supervisor handed over (`LISTEN_FDS`, the systemd
/// socket-activation protocol that `routekit dev`, systemd and `systemfd` speak), else a new
/// one bound to [`bind_address`]. A handed-over socket outlives this process, so a new
/// server can take over from an old one without a client ever seeing a refused connection.
///
/// ```no_run
/// # async fn run(app: routekit::App) -> std::io::Result<()> {
/// let listener = routekit::listener().await?;
/// println!("listening on http://{}", listener.local_addr()?);
/// routekit::serve_with_shutdown(listener, app, routekit::shutdown_signal()).await
/// # }
/// ```
pub async fn listener() -> io::Result<TcpListener> {
    let mut fds = listenfd::ListenFd::from_env();
    if let Some(socket) = fds
        .take_tcp_listener(0)
        .map_err(|e| io::Error::new(e.kind(), format!("the socket in LISTEN_FDS: {e}")))?
    {
        socket.set_nonblocking(true)?;
        return TcpListener::from_std(socket);
    }
    let addr = bind_address()?;
    TcpListener::bind(addr)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting and waits for
/// in-flight requests to finish. Under `routekit dev` it also says when it serves, and shows
/// the last failed build's errors over its HTML pages (see `ROUTEKIT_DEV_STATUS`).
///
/// ```no_run
/// # async fn run(app: routekit::App) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// routekit::serve_with_shutdown(listener, app, routekit::shutdown_signal()).await
/// # }
/// ```
pub async fn serve_with_shutdown<F>(listener: TcpListener, app: App, shutdown: F) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    app.check()?;
    let service = app.into_service();
    let Some(status) = crate::dev::status_file() else {
        // One `Edge` per connection, knowing the peer: handlers and the auth server read it
        // as `ConnectInfo<SocketAddr>` (rate limits, MFA challenge binding).
        let make = tower::service_fn(
            move |stream: axum::serve::IncomingStream<'_, TcpListener>| {
                let edge = service.clone().with_peer(*stream.remote_addr());
                std::future::ready(Ok::<_, std::convert::Infallible>(edge))
            },
        );
        return axum::serve(listener, make)
            .with_graceful_shutdown(shutdown)
            .await;
    };
    use tower::ServiceExt;
    let make = tower::service_fn(
        move |stream: axum::serve::IncomingStream<'_, crate::dev::HandOver>| {
            let status = status.clone();
            let edge = service
                .clone()
                .with_peer(*stream.remote_addr())
                .and_then(move |response| {
                    let status = status.clone();
                    async move { Ok(crate::dev::with_overlay(&status, response).await) }
                });
            std::future::ready(Ok::<_, std::convert::Infallible>(edge))
        },
    );
    // Stop accepting at the signal, close idle connections a moment later (see HandOver).
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        let _ = stop.send(true);
        tokio::time::sleep(crate::dev::HANDOVER_GRACE).await;
    };
    let server = axum::serve(crate::dev::HandOver::new(listener, stopped), make)
        .with_graceful_shutdown(shutdown);
    crate::dev::announce_ready();
    server.await
}

/// Completes on Ctrl-C or SIGTERM. The signal handlers are installed when this is called,
/// not when the future is first polled, so a signal that arrives right after the server says
/// it is listening still shuts it down gracefully. Call it inside a Tokio runtime.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let (interrupt, terminate) = signals;
            tokio::select! {
                () = wait(interrupt) => {}
                () = wait(terminate) => {}
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        tracing::info!("shutting down: finishing in-flight requests");
    }
}

/// Waits for one delivery of `signal`, or forever if it could not be installed.
#[cfg(unix)]
async fn wait(signal: Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(mut signal) => {
            signal.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// Installs the default log output (to stdout, filtered by `RUST_LOG`, default `info`) unless
/// the app installed its own subscriber.
///
/// ```
/// routekit::init_logging();
/// routekit::init_logging(); // a second call changes nothing
/// ```
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

impl App {
    /// Takes [`listener`] (a handed-over socket, else [`bind_address`]: `HOST`/`PORT`,
    /// default `127.0.0.1:3000`), logs the URL and serves until Ctrl-C or SIGTERM, finishing
    /// in-flight requests.
    ///
    /// ```no_run
    /// # async fn run(app: routekit::App) -> std::io::Result<()> {
    /// app.serve().await
    /// # }
    /// ```
    pub async fn serve(self) -> io::Result<()> {
        init_logging();
        // A route that needs auth the app does not have fails here, naming its file.
        self.check()?;
        let listener = listener().await?;
        let local = listener.local_addr()?;
        // Handlers first: whoever reads the next line may send SIGTERM at once.
        let shutdown = shutdown_signal();
        tracing::info!("listening on http://{local}");
        serve_with_shutdown(listener, self, shutdown).await
    }
}
