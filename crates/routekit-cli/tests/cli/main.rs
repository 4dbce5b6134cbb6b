//! The `routekit` binary, run as a user runs it.

mod auth;
#[cfg(unix)]
mod dev;
mod new;
mod routes;

use std::path::Path;
use std::process::{Command, Output};

/// Runs `routekit` with `args` in `dir`, without colour.
pub(crate) fn routekit(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_routekit"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run routekit")
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("UTF-8 output")
}

/// Writes `files` (path, content) below `dir`.
pub(crate) fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

#[test]
fn version_and_help() {
    let dir = tempfile::tempdir().unwrap();
    let version = routekit(dir.path(), &["--version"]);
    assert!(version.status.success());
    assert_eq!(
        stdout(&version),
        format!("routekit {}\n", env!("CARGO_PKG_VERSION"))
    );
    for args in [&["--help"][..], &["new", "--help"], &["routes", "--help"]] {
        let help = routekit(dir.path(), args);
        assert!(help.status.success(), "{args:?}");
        assert!(stdout(&help).contains("Usage: routekit"), "{args:?}");
    }
    let unknown = routekit(dir.path(), &["frobnicate"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("unrecognized subcommand 'frobnicate'"));
}
