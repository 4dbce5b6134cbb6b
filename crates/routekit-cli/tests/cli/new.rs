//! `routekit new`: both templates build offline, sharing the workspace's target folder, and
//! their routes answer.

use std::path::{Path, PathBuf};
use std::process::Command;

use routekit_test::{ServerProcess, assert_error, client};

use crate::{routekit, stderr, stdout};

/// The target folder the test binaries live in (`<target>/debug/deps/…`).
fn target_dir() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_routekit"));
    bin.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// `cargo build --offline` of the project at `dir`, into the shared target folder; returns
/// the binary.
fn build(dir: &Path, name: &str) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--offline", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        // CI lints the workspace inside its test build (scripts/test); a scaffold is built
        // as a user builds it.
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CLIPPY_ARGS")
        .output()
        .expect("run cargo");
    assert!(
        output.status.success(),
        "cargo build of the scaffold failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    target_dir().join("debug").join(name)
}

#[tokio::test]
async fn the_full_template_builds_and_serves_pages_auth_and_notes() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("notes-app");
    let output = routekit(dir.path(), &["new", "notes-app"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("created notes-app in notes-app ("));
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "src/main.rs",
        "app/route.rs",
        "app/api/notes/route.rs",
        "app/dashboard/route.rs",
        "migrations/0001_notes.sql",
        ".gitignore",
        "README.md",
    ] {
        assert!(project.join(file).is_file(), "{file} is missing");
    }
    assert!(
        !project.join("tests").exists(),
        "the example's tests are not copied"
    );
    let main = std::fs::read_to_string(project.join("src/main.rs")).unwrap();
    assert!(
        main.contains("notes_app::") && !main.contains("saas::"),
        "{main}"
    );
    let readme = std::fs::read_to_string(project.join("README.md")).unwrap();
    assert!(readme.contains("cargo run") && readme.contains("cargo test"));

    let bin = build(&project, "notes-app");
    let data = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", data.path().join("app.db").display());
    let server = ServerProcess::start(&bin, &[("DATABASE_URL", &db)]).await;
    let http = client();
    let home = http.get(server.url()).send().await.unwrap();
    assert_eq!(home.status(), 200);
    assert!(home.text().await.unwrap().contains("<html"));
    // The protected route: JSON 401 for an API call, the sign-in page for a navigation.
    let notes = http
        .get(format!("{}/api/notes", server.url()))
        .send()
        .await
        .unwrap();
    assert_error(notes, 401, "unauthenticated").await;
    let page = http
        .get(format!("{}/dashboard", server.url()))
        .header("sec-fetch-mode", "navigate")
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(page.status().is_redirection(), "{}", page.status());
    assert!(
        page.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/auth/sign-in")
    );
    let health = http
        .get(format!("{}/auth/v1/health", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(server.terminate().await.success());
}

#[tokio::test]
async fn the_api_template_builds_without_auth_and_guards_its_items() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("my-api");
    std::fs::create_dir(&project).unwrap();
    let output = routekit(&project, &["new", ".", "--api", "--name", "my-api"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("default-features = false"), "{manifest}");
    assert!(!manifest.contains("routekit-auth"), "{manifest}");
    assert!(!project.join("migrations").exists());

    let bin = build(&project, "my-api");
    let server = ServerProcess::start(&bin, &[("API_KEY", "test-key")]).await;
    // An API client: no cookies, so a Bearer call needs no CSRF token.
    let http = reqwest::Client::new();
    let url = server.url().to_owned();
    let page = http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("It works"));
    let health = http.get(format!("{url}/api/health")).send().await.unwrap();
    assert_eq!(
        health.json::<serde_json::Value>().await.unwrap()["status"],
        "ok"
    );
    let anonymous = http.get(format!("{url}/api/items")).send().await.unwrap();
    assert_error(anonymous, 401, "unauthorized").await;
    let wrong = http
        .get(format!("{url}/api/items"))
        .bearer_auth("wrong-key")
        .send()
        .await
        .unwrap();
    assert_error(wrong, 401, "unauthorized").await;
    let created = http
        .post(format!("{url}/api/items"))
        .bearer_auth("test-key")
        .json(&serde_json::json!({"name": "first"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let invalid = http
        .post(format!("{url}/api/items"))
        .bearer_auth("test-key")
        .json(&serde_json::json!({"name": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 422);
    let body: serde_json::Value = invalid.json().await.unwrap();
    assert_eq!(body["error"]["code"], "validation_failed", "{body}");
    assert_eq!(body["error"]["fields"][0]["path"], "name", "{body}");
    let list = http
        .get(format!("{url}/api/items"))
        .bearer_auth("test-key")
        .send()
        .await
        .unwrap();
    let list: serde_json::Value = list.json().await.unwrap();
    assert_eq!(list["items"][0]["name"], "first");
    assert!(server.terminate().await.success());
}

#[test]
fn a_folder_that_is_not_empty_is_refused_and_left_alone() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("occupied");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let output = routekit(&dir, &["new", "."]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.starts_with("error: ") && err.contains("is not empty"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(entries.len(), 1);

    let bad = routekit(root.path(), &["new", "1st-app"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("is not a package name"));
    assert!(!root.path().join("1st-app").exists());
}

#[test]
fn crates_io_and_git_sources_are_written_into_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let output = routekit(dir.path(), &["new", "a", "--routekit-version", "0.1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let manifest = std::fs::read_to_string(dir.path().join("a/Cargo.toml")).unwrap();
    assert!(
        manifest.contains("routekit-codegen = \"0.1\""),
        "{manifest}"
    );
    assert!(!manifest.contains("path ="), "{manifest}");
    assert!(!dir.path().join("a/Cargo.lock").exists());

    let output = routekit(
        dir.path(),
        &[
            "new",
            "b",
            "--api",
            "--git",
            "https://example.com/routekit.git",
            "--tag",
            "v0.1.0",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let manifest = std::fs::read_to_string(dir.path().join("b/Cargo.toml")).unwrap();
    assert!(
        manifest.contains(
            "routekit-codegen = { git = \"https://example.com/routekit.git\", tag = \"v0.1.0\" }"
        ),
        "{manifest}"
    );

    let conflicting = routekit(
        dir.path(),
        &["new", "c", "--routekit-version", "1", "--git", "x"],
    );
    assert_eq!(conflicting.status.code(), Some(2));
}
