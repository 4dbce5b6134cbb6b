//! Build-time errors: each names the file(s), the line where there is one, and a hint.

use std::fmt;

/// A place in the user's source: a path relative to the crate, and a line if known.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// Path as the user would type it, e.g. `app/users/[id]/route.rs`.
    pub path: String,
    /// 1-based line number.
    pub line: Option<usize>,
}

impl Location {
    /// A whole file or folder.
    pub fn file(path: impl Into<String>) -> Self {
        Location {
            path: path.into(),
            line: None,
        }
    }

    /// One line of a file.
    pub fn line(path: impl Into<String>, line: usize) -> Self {
        Location {
            path: path.into(),
            line: Some(line),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.path),
            None => f.write_str(&self.path),
        }
    }
}

/// One mistake in the `app/` tree.
///
/// ```
/// use routekit_codegen::{Diagnostic, Location};
/// let d = Diagnostic::new("two route files serve the URL /about")
///     .at(Location::file("app/(a)/about/route.rs"))
///     .at(Location::file("app/(b)/about/route.rs"))
///     .help("route groups are left out of the URL; keep one of the files");
/// assert!(d.to_string().starts_with("error: two route files serve the URL /about\n  --> app/(a)"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
    /// Where; the first location is the primary one.
    pub locations: Vec<Location>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with a message and no location yet.
    pub fn new(message: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            locations: Vec::new(),
            help: None,
        }
    }

    /// Adds a location.
    pub fn at(mut self, location: Location) -> Self {
        self.locations.push(location);
        self
    }

    /// Sets the hint.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        for location in &self.locations {
            write!(f, "\n  --> {location}")?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

/// Everything wrong with an `app/` tree, reported together so one build shows all mistakes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The individual mistakes, sorted by their first location.
    pub diagnostics: Vec<Diagnostic>,
}

impl Error {
    pub(crate) fn from_diagnostics(mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics.sort_by(|a, b| {
            a.locations
                .cmp(&b.locations)
                .then(a.message.cmp(&b.message))
        });
        diagnostics.dedup();
        Error { diagnostics }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                f.write_str("\n\n")?;
            }
            write!(f, "{d}")?;
        }
        let n = self.diagnostics.len();
        write!(
            f,
            "\n\nroutekit: {n} route error{}",
            if n == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for Error {}
