//! `routekit dev` on the example app (scaffolded with `routekit new`, the full template),
//! after a warm build: for each of `EDITS` saves of `app/route.rs`, the time from the save to
//! the new page being served, with the dev loop's own split into codegen, rustc and restart,
//! while `CLIENTS` clients request `GET /` on new connections without pause and count what
//! fails. The baseline, in the same run on the same project: a kill-first loop (what
//! `cargo watch -x run`, bacon or Loco's watch do), which stops the server, builds, and starts
//! it again. It measures and prints; it never fails on a timing.
//!
//!   bench/dev.sh                      # EDITS=3 CLIENTS=4
//!
//! Run through `bench/dev.sh`, which builds `routekit` and this program and sets
//! `ROUTEKIT_BIN`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

type Error = Box<dyn std::error::Error + Send + Sync>;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Requests on new connections from `clients` tasks until `stop`: (answered, failed).
struct Hammer {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Hammer {
    fn start(url: &str, clients: u64) -> Hammer {
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let tasks = (0..clients)
            .map(|_| {
                let (stop, answered, failed) = (stop.clone(), answered.clone(), failed.clone());
                let url = url.to_owned();
                tokio::spawn(async move {
                    let client = reqwest::Client::builder()
                        .pool_max_idle_per_host(0)
                        .build()
                        .expect("client");
                    while !stop.load(Ordering::Relaxed) {
                        match client.get(&url).send().await {
                            Ok(res) if res.status().is_success() => {
                                answered.fetch_add(1, Ordering::Relaxed)
                            }
                            _ => failed.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                })
            })
            .collect();
        Hammer {
            stop,
            answered,
            failed,
            tasks,
        }
    }

    async fn finish(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            let _ = task.await;
        }
        (
            self.answered.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

/// Polls `url` until its body contains `marker`; the time it took.
async fn served(url: &str, marker: &str, since: Instant) -> Duration {
    let client = reqwest::Client::new();
    loop {
        if let Ok(res) = client.get(url).send().await
            && let Ok(body) = res.text().await
            && body.contains(marker)
        {
            return since.elapsed();
        }
        tokio::task::yield_now().await;
    }
}

async fn next_line_with(
    lines: &mut Lines<BufReader<ChildStdout>>,
    prefix: &str,
) -> Result<String, Error> {
    while let Some(line) = lines.next_line().await? {
        if line.starts_with(prefix) {
            return Ok(line);
        }
    }
    Err(format!("the process ended before printing {prefix:?}").into())
}

/// `serving in 2.41 s (codegen 2 ms, rustc 2.20 s, restart 38 ms)` → (codegen, rustc,
/// restart) in seconds.
fn split(line: &str) -> (f64, f64, f64) {
    let value = |key: &str| -> f64 {
        let Some(at) = line.find(key) else {
            return f64::NAN;
        };
        let rest = &line[at + key.len()..];
        let mut words = rest.split_whitespace();
        let number: f64 = words
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(f64::NAN);
        match words.next() {
            Some(unit) if unit.starts_with("ms") => number / 1000.0,
            _ => number,
        }
    };
    (value("codegen "), value("rustc "), value("restart "))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn edit(route: &Path, original: &str, n: u64) -> Result<String, Error> {
    let marker = format!("bench edit {n}");
    let text = original.replace("The routekit example app", &marker);
    assert_ne!(
        text, original,
        "the landing page changed: update the bench's marker"
    );
    std::fs::write(route, text)?;
    Ok(marker)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let routekit = PathBuf::from(
        std::env::var("ROUTEKIT_BIN").map_err(|_| "set ROUTEKIT_BIN (bench/dev.sh does)")?,
    );
    let target = std::env::var("CARGO_TARGET_DIR")
        .map_err(|_| "set CARGO_TARGET_DIR (bench/dev.sh does)")?;
    let edits = env_or("EDITS", 3);
    let clients = env_or("CLIENTS", 4);
    let dir = tempfile::tempdir()?;
    let project = dir.path().join("bench-app");
    let status = Command::new(&routekit)
        .args(["new", "bench-app"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .status()
        .await?;
    assert!(status.success(), "routekit new failed");
    let data = dir.path().join("auth.db");
    let env = [
        ("CARGO_TARGET_DIR", target.clone()),
        ("DATABASE_URL", format!("sqlite://{}", data.display())),
        ("NO_COLOR", "1".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ];
    eprintln!("warm build of the scaffolded example…");
    let warm = Command::new("cargo")
        .args(["build", "--quiet"])
        .current_dir(&project)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .status()
        .await?;
    assert!(warm.success(), "warm build failed");
    let route = project.join("app/route.rs");
    let original = std::fs::read_to_string(&route)?;

    // routekit dev.
    let mut dev: Child = Command::new(&routekit)
        .args(["dev", "--port", "0"])
        .current_dir(&project)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(dev.stdout.take().expect("piped")).lines();
    let banner = next_line_with(&mut lines, "routekit dev:").await?;
    let url = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .ok_or("no URL in the banner")?
        .to_owned();
    next_line_with(&mut lines, "serving in ").await?;
    let hammer = Hammer::start(&url, clients);
    let (mut totals, mut codegens, mut rustcs, mut restarts, mut shares) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for n in 1..=edits {
        let saved = Instant::now();
        let marker = edit(&route, &original, n)?;
        let line = next_line_with(&mut lines, "serving in ").await?;
        let total = served(&url, &marker, saved).await.as_secs_f64();
        let (codegen, rustc, restart) = split(&line);
        totals.push(total);
        codegens.push(codegen);
        rustcs.push(rustc);
        restarts.push(restart);
        shares.push(codegen / total);
    }
    let (dev_answered, dev_failed) = hammer.finish().await;
    let _ = Command::new("kill")
        .args(["-TERM", &dev.id().unwrap_or_default().to_string()])
        .status()
        .await;
    let _ = dev.wait().await;

    // The baseline: kill, build, start (on the same port, as a watcher restarts it).
    let port = url.rsplit(':').next().unwrap_or("3000").to_owned();
    let exe = PathBuf::from(&target).join("debug/bench-app");
    let start = || -> Result<Child, Error> {
        Ok(Command::new(&exe)
            .current_dir(&project)
            .env("PORT", &port)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?)
    };
    let mut server = start()?;
    served(&url, "", Instant::now()).await;
    let hammer = Hammer::start(&url, clients);
    let mut baseline = Vec::new();
    for n in 1..=edits {
        let saved = Instant::now();
        let marker = edit(&route, &original, edits + n)?;
        let _ = Command::new("kill")
            .args(["-TERM", &server.id().unwrap_or_default().to_string()])
            .status()
            .await;
        let _ = server.wait().await;
        let built = Command::new("cargo")
            .args(["build", "--quiet"])
            .current_dir(&project)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .status()
            .await?;
        assert!(built.success());
        server = start()?;
        baseline.push(served(&url, &marker, saved).await.as_secs_f64());
    }
    let (base_answered, base_failed) = hammer.finish().await;
    let _ = server.kill().await;
    std::fs::write(&route, &original)?;

    let total = median(&mut totals);
    let base = median(&mut baseline);
    let report = format!(
        "\nroutekit dev on the example app (debug build, warm), {edits} edits of app/route.rs, \
         {clients} clients on new connections (medians):\n\
         {:>14} {:>10} {:>10} {:>10} {:>14} {:>16}\n\
         {:>14.2} {:>10.2} {:>10.1} {:>10.1} {:>13.3}% {:>9} of {}\n\
         kill-first loop (stop, cargo build, start), same project, same edits:\n\
         {:>14} {:>16}\n\
         {:>14.2} {:>9} of {}\n\
         ratios: save->served dev/kill-first {:.3}; failed requests {} vs {}\n",
        "save->served s",
        "rustc s",
        "codegen ms",
        "restart ms",
        "codegen share",
        "failed requests",
        total,
        median(&mut rustcs),
        median(&mut codegens) * 1000.0,
        median(&mut restarts) * 1000.0,
        median(&mut shares) * 100.0,
        dev_failed,
        dev_answered + dev_failed,
        "save->served s",
        "failed requests",
        base,
        base_failed,
        base_answered + base_failed,
        total / base,
        dev_failed,
        base_failed,
    );
    std::io::Write::write_all(&mut std::io::stdout(), report.as_bytes())?;
    Ok(())
}
