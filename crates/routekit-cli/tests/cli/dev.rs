//! `routekit dev` on a scaffolded app: an edit is served after the rebuild, a broken edit
//! keeps the old server answering with the errors over its pages, a fix recovers, and a
//! client hammering the server through every swap never sees a failed request.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::routekit;

struct Dev {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    seen: Vec<String>,
}

impl Dev {
    fn start(project: &Path) -> Dev {
        let target = Path::new(env!("CARGO_BIN_EXE_routekit"))
            .parent()
            .and_then(Path::parent)
            .unwrap()
            .to_path_buf();
        let mut child = Command::new(env!("CARGO_BIN_EXE_routekit"))
            .args(["dev", "--port", "0"])
            .current_dir(project)
            .env("CARGO_TARGET_DIR", target)
            .env("CARGO_NET_OFFLINE", "true")
            // CI lints the workspace inside its test build (scripts/test); the scaffold is
            // built as a user builds it.
            .env_remove("RUSTC_WORKSPACE_WRAPPER")
            .env_remove("CLIPPY_ARGS")
            .env("NO_COLOR", "1")
            .env("API_KEY", "test-key")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start routekit dev");
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Dev {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The next line of the dev loop's own output that starts with `prefix` (the app's log
    /// lines in between are skipped).
    async fn wait_for(&mut self, prefix: &str) -> String {
        let wait = async {
            loop {
                let line = self.lines.next_line().await.unwrap().unwrap_or_else(|| {
                    panic!("routekit dev exited; it said:\n{}", self.seen.join("\n"))
                });
                self.seen.push(line.clone());
                if line.starts_with(prefix) {
                    return line;
                }
            }
        };
        // Generous: the first build compiles the project on a busy CI machine.
        tokio::time::timeout(Duration::from_secs(600), wait)
            .await
            .unwrap_or_else(|_| panic!("no {prefix:?} line from routekit dev"))
    }
}

/// Requests on a new connection each, until told to stop; counts answers and failures.
fn hammer(url: String, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<(u64, Vec<String>)> {
    tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let answered = AtomicU64::new(0);
        let mut failures = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            match client.get(format!("{url}/api/health")).send().await {
                Ok(res) if res.status() == 200 => {
                    answered.fetch_add(1, Ordering::Relaxed);
                }
                Ok(res) => failures.push(format!("status {}", res.status())),
                Err(e) => failures.push(format!("{e:?}")),
            }
        }
        (answered.into_inner(), failures)
    })
}

async fn health(url: &str) -> String {
    let body: serde_json::Value = reqwest::get(format!("{url}/api/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["status"].as_str().unwrap().to_owned()
}

async fn page(url: &str) -> String {
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn edits_are_served_broken_builds_keep_the_old_server_and_no_request_fails() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("dev-probe");
    let output = routekit(dir.path(), &["new", "dev-probe", "--api"]);
    assert!(output.status.success());
    let route = project.join("app/api/health/route.rs");
    let original = std::fs::read_to_string(&route).unwrap();

    let mut dev = Dev::start(&project);
    let banner = dev.wait_for("routekit dev:").await;
    let url = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned();
    let first = dev.wait_for("serving in ").await;
    assert!(first.contains("codegen ") && first.contains("rustc ") && first.contains("restart "));
    assert_eq!(health(&url).await, "ok");

    let stop = Arc::new(AtomicBool::new(false));
    let hammering = hammer(url.clone(), stop.clone());

    // An edit: served once rebuilt.
    std::fs::write(&route, original.replace("\"ok\"", "\"edited\"")).unwrap();
    let building = dev.wait_for("building:").await;
    assert_eq!(building, "building: app/api/health/route.rs");
    dev.wait_for("serving in ").await;
    assert_eq!(health(&url).await, "edited");

    // A broken edit: the old server keeps answering; its pages carry the errors, its JSON
    // does not.
    std::fs::write(&route, original.replace("\"ok\"", "\"edited\" +")).unwrap();
    let failed = dev.wait_for("failed:").await;
    assert!(
        failed.starts_with("failed: build failed (1 error): the previous build keeps serving"),
        "{failed}"
    );
    assert_eq!(health(&url).await, "edited");
    let broken = page(&url).await;
    assert!(
        broken.contains("<div id=\"routekit-dev-overlay\""),
        "{broken}"
    );
    assert!(broken.contains("app/api/health/route.rs"), "{broken}");
    assert!(
        broken.contains("It works"),
        "the page itself is still there"
    );

    // A route mistake is caught before rustc: same, with the codegen's message.
    std::fs::write(
        project.join("app/api/health/route.rs"),
        "pub async fn get() {}",
    )
    .unwrap();
    let failed = dev.wait_for("failed:").await;
    assert!(failed.starts_with("failed: 1 route error: "), "{failed}");
    assert!(page(&url).await.contains("handler `get` is not uppercase"));

    // The fix: served, and the overlay is gone.
    std::fs::write(&route, original.replace("\"ok\"", "\"fixed\"")).unwrap();
    dev.wait_for("serving in ").await;
    assert_eq!(health(&url).await, "fixed");
    assert!(!page(&url).await.contains("routekit-dev-overlay"));

    stop.store(true, Ordering::Relaxed);
    let (answered, failures) = hammering.await.unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} requests failed: {failures:?}",
        failures.len(),
        answered + failures.len() as u64
    );
    assert!(answered > 0);

    // Stopping the loop stops the server with it: the port is closed.
    let pid = dev.child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(dev.child.wait().await.unwrap().success());
    let addr = url.trim_start_matches("http://");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "still listening on {addr}"
    );
}
