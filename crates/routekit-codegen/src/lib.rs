//! Turns an `app/` folder of `route.rs` files into a routekit router, at build time.
//!
//! Call it from `build.rs`; the route table is then included with `routekit::routes!()`:
//!
//! ```no_run
//! // build.rs
//! fn main() {
//!     routekit_codegen::generate();
//! }
//! ```
//!
//! The pipeline is `scan` (files → [`RouteFile`]), [`plan`] (URLs, conflicts) and [`render`]
//! (Rust source). Mistakes are collected into one [`Error`] that names every file involved.

// The examples are build scripts, where `fn main` is the point.
#![allow(clippy::needless_doctest_main)]

mod describe;
mod error;
mod plan;
mod render;
mod scan;
mod segment;

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

pub use describe::{
    AuthRule, Declared, HandlerDescription, RouteDescription, SessionUse, describe, describe_source,
};
pub use error::{Diagnostic, Error, Location};
pub use plan::{PlannedRoute, RoutePlan, plan};
pub use render::{HEADER, render};
pub use scan::{Method, RouteFile, Setting, read_exports, scan};
pub use segment::Segment;

/// The file name the generated router is written to inside `OUT_DIR`.
pub const OUT_FILE: &str = "routekit_routes.rs";

/// Generates the router for the crate being built, from `$CARGO_MANIFEST_DIR/app` into
/// `$OUT_DIR/routekit_routes.rs`. On a route mistake it prints every error and fails the
/// build.
///
/// ```no_run
/// // build.rs
/// fn main() {
///     routekit_codegen::generate();
/// }
/// ```
pub fn generate() {
    if let Err(message) = Generator::from_env().and_then(|g| g.run().map_err(|e| e.to_string())) {
        eprintln!("{message}");
        std::process::exit(1);
    }
}

/// A configurable run of the generator, for build scripts with a non-default layout.
///
/// ```no_run
/// // build.rs: routes live in src/app instead of app/
/// fn main() {
///     let manifest = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
///     routekit_codegen::Generator::from_env()
///         .unwrap()
///         .app_dir(manifest.join("src/app"))
///         .run()
///         .unwrap_or_else(|e| panic!("{e}"));
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Generator {
    root: PathBuf,
    app_dir: PathBuf,
    out_file: PathBuf,
    cargo_instructions: bool,
    render_root: Option<String>,
}

impl Generator {
    /// Reads `CARGO_MANIFEST_DIR` and `OUT_DIR`, as set by cargo for build scripts.
    pub fn from_env() -> Result<Self, String> {
        let root = env::var_os("CARGO_MANIFEST_DIR")
            .ok_or("routekit: CARGO_MANIFEST_DIR is not set; call the generator from build.rs")?;
        let out = env::var_os("OUT_DIR")
            .ok_or("routekit: OUT_DIR is not set; call the generator from build.rs")?;
        let root = PathBuf::from(root);
        Ok(Generator {
            app_dir: root.join("app"),
            root,
            out_file: PathBuf::from(out).join(OUT_FILE),
            cargo_instructions: true,
            render_root: None,
        })
    }

    /// A generator for an explicit crate root and output file, printing no cargo instructions
    /// (for tools and tests).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::create_dir_all(dir.path().join("app")).unwrap();
    /// std::fs::write(dir.path().join("app/route.rs"), "pub async fn GET() {}").unwrap();
    /// let out = dir.path().join("routes.rs");
    /// let generator = routekit_codegen::Generator::new(dir.path(), &out);
    /// assert!(generator.run().unwrap());   // written
    /// assert!(!generator.run().unwrap());  // unchanged, not rewritten
    /// ```
    pub fn new(root: impl Into<PathBuf>, out_file: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Generator {
            app_dir: root.join("app"),
            root,
            out_file: out_file.into(),
            cargo_instructions: false,
            render_root: None,
        }
    }

    /// Uses another folder than `<root>/app` for the route files.
    pub fn app_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.app_dir = dir.into();
        self
    }

    /// Writes `#[path]` attributes relative to `root` instead of the crate's real location,
    /// for output that does not depend on where the crate is checked out.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::create_dir_all(dir.path().join("app")).unwrap();
    /// std::fs::write(dir.path().join("app/route.rs"), "pub async fn GET() {}").unwrap();
    /// let source = routekit_codegen::Generator::new(dir.path(), "unused.rs")
    ///     .render_root("/ROOT")
    ///     .source()
    ///     .unwrap();
    /// assert!(source.contains(r#"#[path = "/ROOT/app/route.rs"]"#));
    /// ```
    pub fn render_root(mut self, root: impl Into<String>) -> Self {
        self.render_root = Some(root.into());
        self
    }

    /// Scans, plans, renders and writes the router. Returns whether the file was written:
    /// it is left untouched when the content is unchanged, so nothing downstream rebuilds.
    pub fn run(&self) -> Result<bool, Error> {
        #[allow(
            clippy::print_stdout,
            reason = "cargo reads build script instructions from stdout"
        )]
        if self.cargo_instructions {
            // A directory makes cargo re-run us when anything below it is added, removed or
            // changed.
            println!("cargo::rerun-if-changed={}", self.app_dir.display());
        }
        let source = self.source()?;
        let unchanged = fs::read_to_string(&self.out_file).is_ok_and(|old| old == source);
        if unchanged {
            return Ok(false);
        }
        if let Some(parent) = self.out_file.parent() {
            fs::create_dir_all(parent).map_err(|e| io_error(&self.out_file, e))?;
        }
        fs::write(&self.out_file, source).map_err(|e| io_error(&self.out_file, e))?;
        Ok(true)
    }

    /// The generated source, without writing it.
    pub fn source(&self) -> Result<String, Error> {
        let prefix = display_prefix(&self.root, &self.app_dir);
        if !self.app_dir.is_dir() {
            return Err(Error::from_diagnostics(vec![
                Diagnostic::new("no app/ folder")
                    .at(Location::file(prefix))
                    .help(
                        "create app/route.rs with `pub async fn GET() -> &'static str { \"ok\" }`",
                    ),
            ]));
        }
        let files = scan(&self.app_dir, &prefix).map_err(Error::from_diagnostics)?;
        let plan = plan(files)?;
        let root = match &self.render_root {
            Some(root) => root.clone(),
            None => {
                let root = self
                    .root
                    .canonicalize()
                    .unwrap_or_else(|_| self.root.clone());
                root.to_string_lossy().replace('\\', "/")
            }
        };
        Ok(render(&plan, &root))
    }
}

/// How `app_dir` is spelled relative to `root` in messages and generated paths.
fn display_prefix(root: &Path, app_dir: &Path) -> String {
    let rel = app_dir.strip_prefix(root).unwrap_or(app_dir);
    let text = rel.to_string_lossy().replace('\\', "/");
    if text.is_empty() {
        ".".to_owned()
    } else {
        text
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::from_diagnostics(vec![
        Diagnostic::new(format!("cannot write generated routes: {e}"))
            .at(Location::file(path.display().to_string())),
    ])
}
