//! `routekit new <dir>`: a project that builds and runs at once.
//!
//! Two templates: the full app (the example app's routes, pages, auth and notes: what
//! `examples/saas` is) and `--api` (routes only, `default-features = false`). Their manifests
//! are written as workspace members; each `workspace = true` dependency becomes the
//! workspace's own entry, with the routekit crates taken from a local checkout, a version
//! or a git repository.

use std::fmt::Write;
use std::fs;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/templates.rs"));
}

/// Which project to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// Auth, pages and notes on SQLite or PostgreSQL: the example app.
    Full,
    /// Routes only: JSON handlers guarded by an API key, no auth server, no database.
    Api,
}

impl Template {
    fn files(self) -> &'static [(&'static str, &'static [u8])] {
        match self {
            Template::Full => embedded::FULL,
            Template::Api => embedded::API,
        }
    }

    /// The crate name the template's sources use for themselves.
    fn crate_name(self) -> &'static str {
        match self {
            Template::Full => "saas",
            Template::Api => "api",
        }
    }
}

/// Where the scaffold's routekit dependencies come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A routekit checkout (the default while routekit is unpublished: the one this
    /// command was built from).
    Path(PathBuf),
    /// crates.io, at this version requirement.
    Version(String),
    /// A git repository, optionally at a branch, tag or revision.
    Git {
        /// The repository URL.
        url: String,
        /// `("branch" | "tag" | "rev", value)`.
        reference: Option<(&'static str, String)>,
    },
}

impl Source {
    /// The checkout this command was built from, if it is still there.
    ///
    /// ```
    /// let source = routekit_cli::new::Source::this_checkout();
    /// assert!(matches!(source, Some(routekit_cli::new::Source::Path(_))));
    /// ```
    pub fn this_checkout() -> Option<Source> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let root = root.canonicalize().ok()?;
        root.join("crates/routekit/Cargo.toml")
            .is_file()
            .then_some(Source::Path(root))
    }
}

/// What `routekit new` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The package name.
    pub name: String,
    /// The files written, relative to the project.
    pub files: Vec<String>,
}

/// Writes the project into `dir` (created if missing; refused unless empty). `name` is the
/// package name, by default the folder's.
///
/// ```
/// use routekit_cli::new::{Source, Template, scaffold};
/// let dir = tempfile::tempdir().unwrap();
/// let project = dir.path().join("my-api");
/// let created = scaffold(&project, None, Template::Api, &Source::Version("0.1".into())).unwrap();
/// assert_eq!(created.name, "my-api");
/// let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
/// assert!(manifest.contains(r#"routekit = { version = "0.1", default-features = false"#));
/// assert!(scaffold(&project, None, Template::Api, &Source::Version("0.1".into())).is_err());
/// ```
pub fn scaffold(
    dir: &Path,
    name: Option<&str>,
    template: Template,
    source: &Source,
) -> Result<Created, String> {
    let created_here = !dir.exists();
    if !created_here {
        let mut entries =
            fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        if entries.next().is_some() {
            return Err(format!(
                "{} is not empty; pick a new folder or empty this one",
                dir.display()
            ));
        }
    }
    let name = match name {
        Some(name) => name.to_owned(),
        None => {
            // `.` and `..` are named by where they lead.
            let named = match dir.file_name() {
                Some(_) => Some(dir.to_path_buf()),
                None => dir.canonicalize().ok(),
            };
            named
                .as_deref()
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| format!("{} has no folder name; pass --name", dir.display()))?
        }
    };
    check_name(&name)?;
    let ident = name.replace('-', "_");
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for (path, bytes) in template.files() {
        let content = if *path == "Cargo.toml" {
            manifest(
                std::str::from_utf8(bytes).map_err(|e| e.to_string())?,
                &name,
                source,
            )?
            .into_bytes()
        } else if path.ends_with(".rs") {
            let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
            rename_crate(text, template.crate_name(), &ident).into_bytes()
        } else {
            bytes.to_vec()
        };
        files.push(((*path).to_owned(), content));
    }
    files.push(("README.md".to_owned(), readme(&name, template).into_bytes()));
    files.push((".gitignore".to_owned(), GITIGNORE.as_bytes().to_vec()));
    if let Source::Path(root) = source
        && let Ok(lock) = fs::read(root.join("Cargo.lock"))
    {
        // The versions routekit is tested with; cargo drops what the project does not use.
        files.push(("Cargo.lock".to_owned(), lock));
    }
    let write = |path: &str, content: &[u8]| -> Result<(), String> {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::write(&target, content).map_err(|e| format!("cannot write {}: {e}", target.display()))
    };
    for (path, content) in &files {
        if let Err(e) = write(path, content) {
            // No half-written project: what this call made goes again.
            if created_here {
                let _ = fs::remove_dir_all(dir);
            } else {
                for (path, _) in &files {
                    let _ = fs::remove_file(dir.join(path));
                }
            }
            return Err(e);
        }
    }
    let mut written: Vec<String> = files.into_iter().map(|(path, _)| path).collect();
    written.sort();
    Ok(Created {
        name,
        files: written,
    })
}

const GITIGNORE: &str = "/target\n/data/\n*.db\n*.db-wal\n*.db-shm\n*.db.lock\n.env\n";

/// A package name cargo takes: ASCII letters, digits, `-` and `_`, starting with a letter.
fn check_name(name: &str) -> Result<(), String> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(format!(
            "{name:?} is not a package name (letters, digits, - and _, starting with a letter); \
             pass --name"
        ));
    }
    if matches!(
        name,
        "routekit" | "test" | "core" | "std" | "alloc" | "proc_macro"
    ) || name.starts_with("routekit-")
    {
        return Err(format!(
            "{name:?} is taken by Rust or routekit itself; pass --name"
        ));
    }
    Ok(())
}

/// Replaces the path `from::` with `to::` where `from` is a whole identifier.
fn rename_crate(text: &str, from: &str, to: &str) -> String {
    let needle = format!("{from}::");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        let before = rest[..at].chars().next_back();
        let whole = !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
        out.push_str(&rest[..at]);
        out.push_str(if whole { to } else { from });
        out.push_str("::");
        rest = &rest[at + needle.len()..];
    }
    out.push_str(rest);
    out
}

/// The scaffold's `Cargo.toml`: the template's package and dependencies with every
/// `workspace = true` resolved, the workspace's dev profile (fast password hashing in debug
/// builds) and lints, and an empty `[workspace]` so that it builds on its own anywhere.
fn manifest(template: &str, name: &str, source: &Source) -> Result<String, String> {
    let template: Table = template
        .parse()
        .map_err(|e| format!("template manifest: {e}"))?;
    let workspace: Table = embedded::WORKSPACE_MANIFEST
        .parse()
        .map_err(|e| format!("workspace manifest: {e}"))?;
    let ws = workspace.get("workspace").and_then(Value::as_table);
    let ws_deps = ws
        .and_then(|w| w.get("dependencies"))
        .and_then(Value::as_table);
    let ws_package = ws.and_then(|w| w.get("package")).and_then(Value::as_table);
    let mut out = String::new();
    let _ = writeln!(out, "[package]\nname = {}", Value::from(name));
    out.push_str("version = \"0.1.0\"\n");
    if let Some(edition) = ws_package.and_then(|p| p.get("edition")) {
        let _ = writeln!(out, "edition = {edition}");
    }
    if let Some(rust) = ws_package.and_then(|p| p.get("rust-version")) {
        let _ = writeln!(out, "rust-version = {rust}");
    }
    out.push_str("publish = false\n");
    for section in ["dependencies", "build-dependencies"] {
        let Some(deps) = template.get(section).and_then(Value::as_table) else {
            continue;
        };
        let _ = writeln!(out, "\n[{section}]");
        for (dep, spec) in deps {
            let resolved = resolve(dep, spec, ws_deps, source)?;
            let _ = writeln!(out, "{dep} = {}", inline(&resolved));
        }
    }
    if let Some(lints) = ws.and_then(|w| w.get("lints")) {
        let mut table = Table::new();
        table.insert("lints".to_owned(), lints.clone());
        out.push('\n');
        out.push_str(&toml::to_string(&table).map_err(|e| e.to_string())?);
    }
    if let Some(profile) = workspace.get("profile") {
        let mut profile = profile.clone();
        // Per-package settings for packages the project does not depend on would only
        // earn a warning from cargo on every build.
        let uses = |dep: &str| {
            ["dependencies", "build-dependencies"]
                .iter()
                .any(|section| {
                    template
                        .get(*section)
                        .and_then(Value::as_table)
                        .is_some_and(|deps| deps.contains_key(dep))
                })
        };
        let hashing = uses("routekit-auth");
        if let Some(packages) = profile
            .get_mut("dev")
            .and_then(|dev| dev.get_mut("package"))
            .and_then(Value::as_table_mut)
        {
            packages.retain(|name, _| name == "*" || hashing);
        }
        let mut table = Table::new();
        table.insert("profile".to_owned(), profile);
        out.push('\n');
        out.push_str(&toml::to_string(&table).map_err(|e| e.to_string())?);
    }
    out.push_str(
        "\n# Not part of any other workspace: this project builds on its own.\n[workspace]\n",
    );
    Ok(out)
}

/// One dependency, with `workspace = true` replaced by the workspace's entry (features
/// merged) and routekit's own crates pointed at `source`.
fn resolve(
    dep: &str,
    spec: &Value,
    ws_deps: Option<&Table>,
    source: &Source,
) -> Result<Value, String> {
    let mut table = match spec {
        Value::Table(t) => t.clone(),
        other => return Ok(other.clone()),
    };
    if table.remove("workspace").and_then(|v| v.as_bool()) == Some(true) {
        let base = ws_deps
            .and_then(|d| d.get(dep))
            .ok_or_else(|| format!("{dep}: not a workspace dependency"))?;
        let mut merged = match base {
            Value::String(version) => {
                let mut t = Table::new();
                t.insert("version".to_owned(), Value::String(version.clone()));
                t
            }
            Value::Table(t) => t.clone(),
            other => return Err(format!("{dep}: unexpected workspace entry {other}")),
        };
        let mut features: Vec<Value> = merged
            .remove("features")
            .and_then(|f| f.as_array().cloned())
            .unwrap_or_default();
        for feature in table
            .remove("features")
            .and_then(|f| f.as_array().cloned())
            .unwrap_or_default()
        {
            if !features.contains(&feature) {
                features.push(feature);
            }
        }
        if !features.is_empty() {
            merged.insert("features".to_owned(), Value::Array(features));
        }
        merged.extend(table);
        table = merged;
    }
    if let Some(Value::String(path)) = table.remove("path") {
        // One of routekit's crates (`crates/<name>`): its workspace version gives way to
        // the source's.
        table.remove("version");
        let mut located = Table::new();
        match source {
            Source::Path(root) => {
                let path = root.join(&path);
                located.insert(
                    "path".to_owned(),
                    Value::String(path.to_string_lossy().into_owned()),
                );
            }
            Source::Version(requirement) => {
                located.insert("version".to_owned(), Value::String(requirement.clone()));
            }
            Source::Git { url, reference } => {
                located.insert("git".to_owned(), Value::String(url.clone()));
                if let Some((kind, value)) = reference {
                    located.insert((*kind).to_owned(), Value::String(value.clone()));
                }
            }
        }
        located.extend(table);
        table = located;
    }
    Ok(Value::Table(table))
}

/// `"1"` for a bare version, else an inline table with `version`, `path` or `git` first.
fn inline(spec: &Value) -> String {
    let Value::Table(table) = spec else {
        return spec.to_string();
    };
    if table.len() == 1
        && let Some(version @ Value::String(_)) = table.get("version")
    {
        return version.to_string();
    }
    let order = ["version", "path", "git", "branch", "tag", "rev"];
    let mut keys: Vec<&String> = table.keys().collect();
    keys.sort_by_key(|k| order.iter().position(|o| o == k).unwrap_or(order.len()));
    let entries: Vec<String> = keys
        .into_iter()
        .map(|k| format!("{k} = {}", table[k]))
        .collect();
    format!("{{ {} }}", entries.join(", "))
}

fn readme(name: &str, template: Template) -> String {
    let what = match template {
        Template::Full => {
            "A routekit app: sign-up with e-mail confirmation, sign-in, two-factor \
             authentication, notes and an admin page, on SQLite (by default, in `data/`) or \
             PostgreSQL (`DATABASE_URL=postgres://…`). Without SMTP settings the mail it sends \
             waits at <http://127.0.0.1:3000/_routekit/mailbox>."
        }
        Template::Api => {
            "A routes-only routekit API: `GET /api/health` is public, `/api/items` wants \
             `Authorization: Bearer $API_KEY`."
        }
    };
    let run = match template {
        Template::Full => "cargo run",
        Template::Api => "API_KEY=change-me cargo run",
    };
    format!(
        "# {name}\n\n{what}\n\n```sh\n{run}      # http://127.0.0.1:3000\ncargo test\n```\n\n\
         With the `routekit` command: `routekit dev` rebuilds and swaps the server on every \
         save without dropping a request, `routekit routes` prints the route table.\n\n\
         Routes are files: `app/hello/route.rs` serves `/hello` with `pub async fn GET`, \
         `POST`, `PUT`, `PATCH` or `DELETE`; `[id]` folders are parameters.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_crate_paths_are_renamed() {
        assert_eq!(
            rename_crate(
                "saas::app(); my_saas::x; a::saas::b; (saas::c)",
                "saas",
                "notes"
            ),
            "notes::app(); my_saas::x; a::saas::b; (notes::c)"
        );
    }

    #[test]
    fn names_cargo_refuses_are_refused() {
        for bad in ["", "1app", "my app", "routekit", "routekit-extra", "café"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        check_name("my-app_2").unwrap();
    }

    #[test]
    fn git_sources_name_the_reference() {
        let manifest = manifest(
            "[package]\nname = \"x\"\n[dependencies]\nroutekit = { workspace = true, features = [\"db\"] }\nserde.workspace = true\n",
            "app",
            &Source::Git {
                url: "https://github.com/routekit/routekit".into(),
                reference: Some(("branch", "main".into())),
            },
        )
        .unwrap();
        assert!(manifest.contains(
            "routekit = { git = \"https://github.com/routekit/routekit\", branch = \"main\", default-features = false, features = [\"db\"] }"
        ), "{manifest}");
        assert!(manifest.contains("serde = { version = \"1\", features = [\"derive\"] }"));
        assert!(manifest.contains("\n[workspace]\n"));
        assert!(
            manifest.contains("[profile.dev.package.\"*\"]"),
            "{manifest}"
        );
        // Only apps with the auth server hash passwords.
        assert!(!manifest.contains("argon2"), "{manifest}");
    }
}
