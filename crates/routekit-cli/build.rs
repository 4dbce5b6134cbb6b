//! Embeds the templates `routekit new` writes: the example app (`examples/saas`, the full
//! template, without its tests), `templates/api`, and the workspace manifest their
//! `workspace = true` dependencies are resolved against.

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest.join("../..");
    let full = root.join("examples/saas");
    let api = manifest.join("templates/api");
    let workspace = root.join("Cargo.toml");
    for path in [&full, &api, &workspace] {
        println!("cargo::rerun-if-changed={}", path.display());
    }
    let mut out = String::new();
    for (name, dir) in [("FULL", &full), ("API", &api)] {
        let mut files = Vec::new();
        collect(dir, dir, &mut files);
        files.sort();
        let _ = writeln!(out, "pub(crate) const {name}: &[(&str, &[u8])] = &[");
        for (relative, absolute) in files {
            let _ = writeln!(out, "    ({relative:?}, include_bytes!({absolute:?})),");
        }
        let _ = writeln!(out, "];");
    }
    let workspace = workspace.canonicalize().expect("the workspace manifest");
    let _ = writeln!(
        out,
        "pub(crate) const WORKSPACE_MANIFEST: &str = include_str!({:?});",
        workspace.to_string_lossy()
    );
    let dest =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("templates.rs");
    std::fs::write(dest, out).expect("write templates.rs");
}

/// Every file below `dir` but tests, build outputs and local data, as (`/`-separated path
/// relative to `base`, absolute path).
fn collect(base: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = path
            .strip_prefix(base)
            .expect("below base")
            .to_string_lossy()
            .replace('\\', "/");
        if path.is_dir() {
            if !matches!(
                relative.as_str(),
                "tests" | "target" | "data" | "node_modules"
            ) {
                collect(base, &path, out);
            }
        } else if !name.ends_with(".db") && !name.contains(".db-") && !name.ends_with(".lock") {
            let absolute = path.canonicalize().expect("a file");
            out.push((relative, absolute.to_string_lossy().into_owned()));
        }
    }
}
