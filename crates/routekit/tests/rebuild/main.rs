//! Rebuild tracking: a scratch crate with a `build.rs` is built with cargo, a route file is
//! added, and the rebuilt server serves the new URL. A route mistake fails `cargo build` with
//! the generator's message.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A crate outside the workspace that depends on routekit by path, routes only
/// (`default-features = false` with `validate`, as `routekit new --api` writes it, and as
/// `create-next-app --api`). It shares the workspace's lock file and target directory, and
/// builds its dependencies as the `--api` scaffold does (same features, same profile), so
/// whichever of the two builds first compiles them for both.
fn scratch_crate(dir: &Path) {
    scratch_crate_with(dir, "\"validate\"");
}

/// The workspace manifest's `[profile.*]` tables, as `routekit new` copies them into a
/// scaffold: the `dev` profile and its settings for every package, without those for one
/// package (password hashing), which a routes-only graph does not contain.
fn workspace_profiles() -> String {
    let manifest = std::fs::read_to_string(workspace().join("Cargo.toml")).unwrap();
    let mut out = String::new();
    let mut keep = false;
    for line in manifest.lines() {
        if let Some(header) = line.strip_prefix('[') {
            keep = header.starts_with("profile.")
                && (!header.starts_with("profile.dev.package.")
                    || header.starts_with("profile.dev.package.\"*\"]"));
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The scratch crate with routekit's `features` (a TOML list's items, `"supabase"`).
fn scratch_crate_with(dir: &Path, features: &str) {
    let ws = workspace();
    write(
        &dir.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"routekit-scratch\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\nroutekit = {{ path = {:?}, default-features = false, features = [{features}] }}\ntokio = {{ version = \"1\", features = [\"macros\", \"rt-multi-thread\"] }}\n\n\
             [build-dependencies]\nroutekit-codegen = {{ path = {:?} }}\n\n{}\n[workspace]\n",
            ws.join("crates/routekit"),
            ws.join("crates/routekit-codegen"),
            workspace_profiles(),
        ),
    );
    std::fs::copy(ws.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    write(
        &dir.join("build.rs"),
        "fn main() {\n    routekit_codegen::generate();\n}\n",
    );
    write(
        &dir.join("src/main.rs"),
        "routekit::routes!();\n\n#[tokio::main]\nasync fn main() -> std::io::Result<()> {\n    \
         routekit::App::new(routes()).serve().await\n}\n",
    );
    write(
        &dir.join("app/hello/route.rs"),
        "pub async fn GET() -> routekit::Json<&'static str> {\n    routekit::Json(\"hello\")\n}\n",
    );
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

fn cargo_build(dir: &Path) -> std::process::Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
        .args(["build", "--offline", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("RUSTFLAGS")
        // CI lints the workspace inside its test build (scripts/test); the scratch crate is
        // built as a user builds it, and as the `--api` scaffold's test builds it.
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CLIPPY_ARGS")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn build_ok(dir: &Path) {
    let out = cargo_build(dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn start() -> routekit_test::ServerProcess {
    routekit_test::ServerProcess::start(target_dir().join("debug/routekit-scratch"), &[]).await
}

async fn status(url: &str) -> u16 {
    reqwest::get(url).await.unwrap().status().as_u16()
}

/// The normal dependencies of the scratch crate, one name per line.
fn dependency_names(dir: &Path) -> Vec<String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split(' ').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_routes_only_app_compiles_no_database_hashing_or_tls() {
    let dir = tempfile::tempdir().unwrap();
    scratch_crate(dir.path());
    let names = dependency_names(dir.path());
    assert!(names.iter().any(|n| n == "routekit-csrf"), "{names:?}");
    for heavy in [
        "routekit-auth",
        "sqlx",
        "sqlx-core",
        "libsqlite3-sys",
        "argon2",
        "ring",
        "rustls",
        "p256",
        "chacha20poly1305",
        "qrcode",
    ] {
        assert!(!names.iter().any(|n| n == heavy), "{heavy} is a dependency");
    }
}

/// Supabase mode alone verifies tokens and calls the project: it compiles the JWS leaf and an
/// HTTPS client, and nothing of the embedded server.
#[test]
fn a_supabase_only_app_compiles_no_store_hashing_or_signing() {
    let dir = tempfile::tempdir().unwrap();
    scratch_crate_with(dir.path(), "\"supabase\"");
    let names = dependency_names(dir.path());
    for needed in ["routekit-auth", "ring", "hyper-rustls"] {
        assert!(names.iter().any(|n| n == needed), "{needed}: {names:?}");
    }
    for heavy in [
        "sqlx",
        "sqlx-core",
        "libsqlite3-sys",
        "argon2",
        "p256",
        "chacha20poly1305",
        "qrcode",
        "totp-rs",
    ] {
        assert!(!names.iter().any(|n| n == heavy), "{heavy} is a dependency");
    }
}

#[tokio::test]
async fn adding_a_route_file_is_picked_up_by_the_next_build() {
    let dir = tempfile::tempdir().unwrap();
    scratch_crate(dir.path());

    build_ok(dir.path());
    let server = start().await;
    assert_eq!(status(&format!("{}/hello", server.url())).await, 200);
    assert_eq!(status(&format!("{}/bye", server.url())).await, 404);
    assert!(server.terminate().await.success());

    write(
        &dir.path().join("app/bye/route.rs"),
        "pub async fn GET() -> routekit::Json<&'static str> {\n    routekit::Json(\"bye\")\n}\n",
    );
    build_ok(dir.path());
    let server = start().await;
    assert_eq!(status(&format!("{}/bye", server.url())).await, 200);
    assert!(server.terminate().await.success());

    // A mistake fails the build, naming the file, the line and the fix.
    write(
        &dir.path().join("app/broken/route.rs"),
        "pub async fn get() {}\n",
    );
    let out = cargo_build(dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("error: handler `get` is not uppercase"),
        "{stderr}"
    );
    assert!(stderr.contains("--> app/broken/route.rs:1"), "{stderr}");
    assert!(stderr.contains("use GET"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // Removing the file makes the crate build again.
    std::fs::remove_dir_all(dir.path().join("app/broken")).unwrap();
    build_ok(dir.path());
}
