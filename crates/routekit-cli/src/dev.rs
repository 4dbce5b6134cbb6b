//! `routekit dev`: build, serve, watch, rebuild — and never drop the server.
//!
//! The dev loop owns the listening socket. Each server it starts inherits it (`LISTEN_FDS`,
//! read by `routekit::listener`), so the socket stays open from the first build to Ctrl-C:
//! connections made while one server hands over to the next wait in its queue, never
//! refused. On a change it builds while the old server keeps serving; only when the new
//! binary is built and says it serves is the old one stopped (SIGTERM: it finishes what it
//! has in flight). A failed build, or a new server that dies on start, leaves the old one
//! serving, prints the errors and puts them over every HTML page the old server sends
//! (through the file `ROUTEKIT_DEV_STATUS` names); the next good build takes them away.
//!
//! Each change prints the time from the save to the new server serving, split into codegen
//! (the route table, checked here before cargo runs), rustc (the cargo build) and restart
//! (new process started to serving).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::term::Style;

/// How `routekit dev` runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The project folder (with `Cargo.toml` and `app/`).
    pub dir: PathBuf,
    /// Where to listen (`HOST`/`PORT`, default `127.0.0.1:3000`; port 0 picks one).
    pub addr: SocketAddr,
    /// The binary to run, when the package has several.
    pub bin: Option<String>,
    /// Quiet time after a change before building: editors write a file in several steps.
    pub debounce: Duration,
}

/// What was saved and when the first save of the batch happened.
#[derive(Debug)]
struct Change {
    at: Instant,
    paths: BTreeSet<String>,
}

/// The project, as cargo describes it.
#[derive(Debug)]
struct Project {
    dir: PathBuf,
    package: String,
    bin: String,
    exe: PathBuf,
}

/// A server process the loop started.
struct Server {
    child: Child,
    pid: u32,
}

/// The times of one build-and-swap.
#[derive(Debug, Clone, Copy)]
struct Timings {
    codegen: Duration,
    rustc: Duration,
    restart: Duration,
}

/// Runs the dev loop until Ctrl-C or SIGTERM.
pub async fn run(options: Options) -> Result<(), String> {
    let out = Style::stdout();
    let dir = options
        .dir
        .canonicalize()
        .map_err(|e| format!("{}: {e}", options.dir.display()))?;
    let project = Project::load(&dir, options.bin.as_deref()).await?;
    let listener = bind(options.addr)?;
    let local = listener
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .ok_or("the listening socket has no address")?;
    let status = StatusFile::create()?;
    println_flush(&format!(
        "{} {} on http://{local} (Ctrl-C stops)",
        out.bold("routekit dev:"),
        project.package
    ));

    let (tx, mut changes) = mpsc::unbounded_channel::<PathBuf>();
    let _watcher = watch(&dir, tx)?;
    let mut stop = Box::pin(routekit_shutdown());
    let mut current: Option<Server> = None;
    let mut change = Some(Change {
        at: Instant::now(),
        paths: BTreeSet::new(),
    });
    loop {
        let pending = match change.take() {
            Some(change) => change,
            None => tokio::select! {
                _ = &mut stop => break,
                first = changes.recv() => {
                    let Some(first) = first else { break };
                    match debounce(&dir, first, &mut changes, options.debounce).await {
                        Some(change) => change,
                        None => continue,
                    }
                }
            },
        };
        let shown = if pending.paths.is_empty() {
            "first build".to_owned()
        } else {
            pending.paths.iter().cloned().collect::<Vec<_>>().join(", ")
        };
        println_flush(&format!("{} {shown}", out.dim("building:")));
        let cycle = tokio::select! {
            _ = &mut stop => break,
            cycle = build_and_start(&project, &listener, &status) => cycle,
        };
        match cycle {
            Ok((server, timings)) => {
                // Until the old server has stopped accepting, a new connection could still
                // reach it: "serving" means the new build answers every request from now on.
                if let Some(old) = current.replace(server) {
                    retire(old).await;
                }
                status.clear();
                let total = pending.at.elapsed();
                println_flush(&format!(
                    "{} in {} (codegen {}, rustc {}, restart {})",
                    out.success("serving"),
                    seconds(total),
                    millis(timings.codegen),
                    seconds(timings.rustc),
                    millis(timings.restart),
                ));
            }
            Err(failure) => {
                status.show(&failure);
                let kept = if current.is_some() {
                    "the previous build keeps serving"
                } else {
                    "nothing is serving yet"
                };
                if !failure.terminal.is_empty() {
                    eprintln!("{}", failure.terminal);
                }
                println_flush(&format!(
                    "{} {}: {kept}; fix it and save",
                    out.error("failed:"),
                    failure.summary
                ));
            }
        }
        // Saves made during the build are built next, at once.
        let mut during = BTreeSet::new();
        while let Ok(path) = changes.try_recv() {
            if let Some(shown) = relevant(&dir, &path) {
                during.insert(shown);
            }
        }
        if !during.is_empty() {
            change = Some(Change {
                at: Instant::now(),
                paths: during,
            });
        }
    }
    if let Some(server) = current.take() {
        stop_server(server).await;
    }
    status.remove();
    Ok(())
}

/// SIGINT or SIGTERM, like the servers themselves.
fn routekit_shutdown() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let interrupt = signal(SignalKind::interrupt());
    let terminate = signal(SignalKind::terminate());
    async move {
        match (interrupt, terminate) {
            (Ok(mut i), Ok(mut t)) => {
                tokio::select! { _ = i.recv() => {}, _ = t.recv() => {} }
            }
            _ => std::future::pending().await,
        }
    }
}

fn println_flush(line: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn millis(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

impl Project {
    /// Reads the package, its binary and the target folder from `cargo metadata`.
    async fn load(dir: &Path, bin: Option<&str>) -> Result<Project, String> {
        let output = Command::new(cargo())
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(dir)
            .stderr(Stdio::piped())
            .output()
            .await
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !output.status.success() {
            let err = String::from_utf8_lossy(&output.stderr);
            return Err(format!(
                "{} is not a cargo project: {}",
                dir.display(),
                err.lines().next().unwrap_or("cargo metadata failed")
            ));
        }
        let metadata: Value =
            serde_json::from_slice(&output.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
        let manifest = dir.join("Cargo.toml");
        let package = metadata["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["manifest_path"].as_str().map(Path::new) == Some(manifest.as_path()))
            .ok_or_else(|| format!("no package in {}", manifest.display()))?;
        let name = package["name"].as_str().unwrap_or_default().to_owned();
        let bins: Vec<&str> = package["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "bin"))
            })
            .filter_map(|t| t["name"].as_str())
            .collect();
        let bin = match (bin, package["default_run"].as_str(), bins.as_slice()) {
            (Some(bin), _, _) if bins.contains(&bin) => bin.to_owned(),
            (Some(bin), _, _) => return Err(format!("{name} has no binary {bin:?}")),
            (None, Some(default), _) => default.to_owned(),
            (None, None, [only]) => (*only).to_owned(),
            (None, None, []) => return Err(format!("{name} has no binary to run")),
            (None, None, _) => {
                return Err(format!(
                    "{name} has several binaries ({}): pass --bin",
                    bins.join(", ")
                ));
            }
        };
        let target = metadata["target_directory"]
            .as_str()
            .map(PathBuf::from)
            .ok_or("cargo metadata names no target folder")?;
        Ok(Project {
            dir: dir.to_path_buf(),
            exe: target.join("debug").join(&bin),
            package: name,
            bin,
        })
    }
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The socket every server inherits: reusable address, a deep queue for the hand-over.
fn bind(addr: SocketAddr) -> Result<socket2::Socket, String> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)
        .map_err(|e| format!("cannot make a socket: {e}"))?;
    socket
        .set_reuse_address(true)
        .and_then(|()| socket.bind(&addr.into()))
        .and_then(|()| socket.listen(1024))
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    Ok(socket)
}

/// Watches the project; every path that changes is sent on `tx` (filtered later).
fn watch(
    dir: &Path,
    tx: mpsc::UnboundedSender<PathBuf>,
) -> Result<notify::RecommendedWatcher, String> {
    use notify::{EventKind, RecursiveMode, Watcher};
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
        ) {
            for path in event.paths {
                let _ = tx.send(path);
            }
        }
    })
    .map_err(|e| format!("cannot watch files: {e}"))?;
    watcher
        .watch(dir, RecursiveMode::Recursive)
        .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    Ok(watcher)
}

/// The path as shown (relative to the project), if a change to it means a rebuild: below
/// `app/`, `src/`, `migrations/` or `assets/`, or `build.rs`, `Cargo.toml`; never below
/// `target/` or a hidden folder, never an editor's temporary or backup file.
fn relevant(dir: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(dir).ok()?;
    let parts: Vec<&str> = relative.iter().filter_map(|p| p.to_str()).collect();
    let (first, name) = (*parts.first()?, *parts.last()?);
    if parts.iter().any(|p| p.starts_with('.') || *p == "target") {
        return None;
    }
    let temporary = name.ends_with('~')
        || name.starts_with('#')
        || name == "4913"
        || [".swp", ".swx", ".swo", ".tmp", ".bak", ".orig"]
            .iter()
            .any(|s| name.ends_with(s));
    if temporary {
        return None;
    }
    let watched = match parts.len() {
        1 => matches!(first, "build.rs" | "Cargo.toml"),
        _ => matches!(first, "app" | "src" | "migrations" | "assets"),
    };
    watched.then(|| parts.join("/"))
}

/// Collects the changes that arrive until `quiet` passes without one (at most a second).
async fn debounce(
    dir: &Path,
    first: PathBuf,
    changes: &mut mpsc::UnboundedReceiver<PathBuf>,
    quiet: Duration,
) -> Option<Change> {
    let at = Instant::now();
    let mut paths = BTreeSet::new();
    paths.extend(relevant(dir, &first));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        let wait = tokio::time::timeout_at(
            deadline.min(tokio::time::Instant::now() + quiet),
            changes.recv(),
        );
        match wait.await {
            Ok(Some(path)) => paths.extend(relevant(dir, &path)),
            Ok(None) | Err(_) => break,
        }
    }
    // An editor's or sed's temporary file comes and goes within the batch: a path that is
    // gone and has no extension was never a source.
    paths.retain(|p| dir.join(p).exists() || Path::new(p).extension().is_some());
    (!paths.is_empty()).then_some(Change { at, paths })
}

/// Why a cycle did not end with a new server.
#[derive(Debug)]
struct Failure {
    /// One line: `build failed (2 errors)`.
    summary: String,
    /// What the terminal has yet to show (rustc's messages and the server's output were
    /// shown as they came).
    terminal: String,
    /// The same, plain, for the overlay.
    plain: String,
}

/// Codegen, cargo build, and a new server that says it serves.
async fn build_and_start(
    project: &Project,
    listener: &socket2::Socket,
    status: &StatusFile,
) -> Result<(Server, Timings), Failure> {
    let started = Instant::now();
    if project.dir.join("app").is_dir() {
        // The route table alone, in memory: route mistakes are reported before rustc starts.
        let generated = routekit_codegen::Generator::new(&project.dir, "unused.rs").source();
        if let Err(e) = generated {
            let text = e.to_string();
            return Err(Failure {
                summary: format!(
                    "{} route error{}",
                    e.diagnostics.len(),
                    if e.diagnostics.len() == 1 { "" } else { "s" }
                ),
                terminal: text.clone(),
                plain: text,
            });
        }
    }
    let codegen = started.elapsed();
    let rustc_started = Instant::now();
    build(project).await?;
    let rustc = rustc_started.elapsed();
    let restart_started = Instant::now();
    let server = start(project, listener, status).await?;
    Ok((
        server,
        Timings {
            codegen,
            rustc,
            restart: restart_started.elapsed(),
        },
    ))
}

/// `cargo build` of the binary, rustc's messages shown as they come.
async fn build(project: &Project) -> Result<(), Failure> {
    let colour = Style::stderr() == Style::coloured();
    let format = if colour {
        "--message-format=json-diagnostic-rendered-ansi"
    } else {
        "--message-format=json"
    };
    let mut child = Command::new(cargo())
        .args(["build", format, "--bin", &project.bin])
        .arg(if colour {
            "--color=always"
        } else {
            "--color=never"
        })
        .current_dir(&project.dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Failure {
            summary: "cannot run cargo".to_owned(),
            terminal: e.to_string(),
            plain: e.to_string(),
        })?;
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    // cargo's own lines (Compiling …, build script output) go to the terminal as they come.
    let cargo_lines = tokio::spawn(forward(stderr, true));
    let mut messages = BufReader::new(stdout).lines();
    let mut errors = Vec::new();
    while let Ok(Some(line)) = messages.next_line().await {
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if message["reason"] != "compiler-message" {
            continue;
        }
        let rendered = message["message"]["rendered"].as_str().unwrap_or_default();
        eprint!("{rendered}");
        if message["message"]["level"] == "error" {
            errors.push(strip_ansi(rendered));
        }
    }
    let status = child.wait().await.map_err(|e| Failure {
        summary: "cargo did not finish".to_owned(),
        terminal: e.to_string(),
        plain: e.to_string(),
    })?;
    let cargo_output = cargo_lines.await.unwrap_or_default();
    if status.success() {
        return Ok(());
    }
    let summary = match errors
        .iter()
        .filter(|e| !e.starts_with("error: aborting"))
        .count()
    {
        0 => "build failed".to_owned(),
        1 => "build failed (1 error)".to_owned(),
        n => format!("build failed ({n} errors)"),
    };
    let plain = if errors.is_empty() {
        // A failure outside rustc (a build script, the manifest): cargo said why.
        strip_ansi(&cargo_output)
    } else {
        errors.join("\n")
    };
    Err(Failure {
        summary,
        terminal: String::new(),
        plain,
    })
}

/// Copies `stream` to the terminal line by line (stderr when `to_stderr`); returns what it
/// copied, for error reports.
async fn forward(stream: impl AsyncRead + Unpin, to_stderr: bool) -> String {
    let mut lines = BufReader::new(stream).lines();
    let mut kept = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if to_stderr {
            eprintln!("{line}");
        } else {
            println_flush(&line);
        }
        // The tail is enough to say what went wrong.
        if kept.len() > 64 * 1024 {
            kept.drain(..32 * 1024);
        }
        kept.push_str(&line);
        kept.push('\n');
    }
    kept
}

/// Starts the new binary on the inherited socket and waits until it says it serves.
async fn start(
    project: &Project,
    listener: &socket2::Socket,
    status: &StatusFile,
) -> Result<Server, Failure> {
    let failure = |summary: String, detail: String| Failure {
        terminal: String::new(),
        plain: format!("{summary}\n\n{detail}"),
        summary,
    };
    let fd = listener.as_raw_fd();
    // Inherited by this child only: the flag is set back before anything else is started.
    listener
        .set_cloexec(false)
        .map_err(|e| failure("cannot hand the socket over".to_owned(), e.to_string()))?;
    let spawned = Command::new(&project.exe)
        .current_dir(&project.dir)
        .env("LISTEN_FDS", "1")
        .env("LISTEN_FDS_FIRST_FD", fd.to_string())
        .env_remove("LISTEN_PID")
        .env(DEV_STATUS_VAR, &status.path)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let _ = listener.set_cloexec(true);
    let mut child = spawned.map_err(|e| {
        failure(
            format!("cannot start {}", project.exe.display()),
            e.to_string(),
        )
    })?;
    let pid = child.id().unwrap_or_default();
    let stdout = child.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let mut said = String::new();
    let ready = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.starts_with(READY_LINE) {
                return true;
            }
            println_flush(&line);
            said.push_str(&line);
            said.push('\n');
        }
        false
    })
    .await;
    match ready {
        Ok(true) => {
            // The rest of its log goes to the terminal until it exits.
            tokio::spawn(async move {
                while let Ok(Some(line)) = lines.next_line().await {
                    println_flush(&line);
                }
            });
            Ok(Server { child, pid })
        }
        Ok(false) => {
            let exit = child
                .wait()
                .await
                .map(|s| s.to_string())
                .unwrap_or_default();
            Err(failure(
                format!("the new server stopped before serving ({exit})"),
                said,
            ))
        }
        Err(_) => {
            let _ = child.start_kill();
            Err(failure(
                "the new server did not start serving within 60 s".to_owned(),
                said,
            ))
        }
    }
}

/// `routekit::DEV_READY_LINE`, without linking routekit into the command (a test checks
/// that the two agree).
const READY_LINE: &str = "routekit-dev: ready";

/// `routekit::DEV_STATUS_VAR`: the overlay file's path, for the server to show.
const DEV_STATUS_VAR: &str = "ROUTEKIT_DEV_STATUS";

/// Asks the old server to finish (SIGTERM: it stops accepting at once and completes what it
/// has in flight) and waits for it to exit; a server still busy after two seconds (a long
/// request) finishes in the background, and is killed at ten.
async fn retire(mut server: Server) {
    terminate(&server);
    if tokio::time::timeout(Duration::from_secs(2), server.child.wait())
        .await
        .is_err()
    {
        tokio::spawn(async move {
            if tokio::time::timeout(Duration::from_secs(8), server.child.wait())
                .await
                .is_err()
            {
                let _ = server.child.kill().await;
            }
        });
    }
}

/// Stops the server for good (the loop is ending): SIGTERM, then SIGKILL after ten seconds.
async fn stop_server(mut server: Server) {
    terminate(&server);
    if tokio::time::timeout(Duration::from_secs(10), server.child.wait())
        .await
        .is_err()
    {
        let _ = server.child.kill().await;
    }
}

fn terminate(server: &Server) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    if let Ok(pid) = i32::try_from(server.pid) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
}

/// The file the servers read the overlay from.
struct StatusFile {
    path: PathBuf,
}

impl StatusFile {
    fn create() -> Result<StatusFile, String> {
        let path = std::env::temp_dir().join(format!("routekit-dev-{}.html", std::process::id()));
        std::fs::write(&path, "").map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(StatusFile { path })
    }

    fn show(&self, failure: &Failure) {
        let _ = std::fs::write(&self.path, overlay(&failure.summary, &failure.plain));
    }

    fn clear(&self) {
        let _ = std::fs::write(&self.path, "");
    }

    fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The overlay: fixed over the page, rustc's text as it printed it, escaped.
fn overlay(summary: &str, errors: &str) -> String {
    format!(
        "<div id=\"routekit-dev-overlay\" role=\"alert\" style=\"position:fixed;inset:0;\
         z-index:2147483647;overflow:auto;background:rgba(24,24,27,.96);color:#fafafa;\
         font:14px/1.5 ui-monospace,SFMono-Regular,Menlo,monospace;padding:24px\">\
         <p style=\"margin:0 0 12px;font-size:16px;color:#f87171\"><strong>routekit dev: {}</strong> \
         — this page is from the last good build; save a fix and reload.</p>\
         <pre style=\"white-space:pre-wrap;margin:0\">{}</pre></div>",
        html_escape(summary),
        html_escape(errors)
    )
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// Text without ANSI escape sequences (rustc's colours).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sources_count_as_changes() {
        let dir = Path::new("/p");
        let shown = |p: &str| relevant(dir, &dir.join(p));
        assert_eq!(
            shown("app/hello/route.rs").as_deref(),
            Some("app/hello/route.rs")
        );
        assert_eq!(shown("src/main.rs").as_deref(), Some("src/main.rs"));
        assert_eq!(
            shown("migrations/0002.sql").as_deref(),
            Some("migrations/0002.sql")
        );
        assert_eq!(shown("Cargo.toml").as_deref(), Some("Cargo.toml"));
        assert_eq!(shown("build.rs").as_deref(), Some("build.rs"));
        for ignored in [
            "target/debug/app",
            "app/.route.rs.swp",
            "app/route.rs~",
            "app/#route.rs#",
            "app/4913",
            ".git/index",
            "README.md",
            "data/auth.db",
            "src/main.rs.tmp",
        ] {
            assert_eq!(shown(ignored), None, "{ignored}");
        }
        assert_eq!(relevant(dir, Path::new("/elsewhere/app/x.rs")), None);
    }

    #[test]
    fn the_protocol_is_the_one_routekit_speaks() {
        assert_eq!(READY_LINE, routekit::DEV_READY_LINE);
        assert_eq!(DEV_STATUS_VAR, routekit::DEV_STATUS_VAR);
    }

    #[test]
    fn the_overlay_escapes_what_rustc_printed() {
        let html = overlay("build failed (1 error)", "error: expected `<T>` & \"x\"");
        assert!(html.contains("error: expected `&lt;T&gt;` &amp; &quot;x&quot;"));
        assert!(html.starts_with("<div id=\"routekit-dev-overlay\""));
    }

    #[test]
    fn colours_are_stripped_for_the_overlay() {
        assert_eq!(
            strip_ansi("\u{1b}[0m\u{1b}[1m\u{1b}[38;5;9merror\u{1b}[0m: bad"),
            "error: bad"
        );
    }
}
