//! Walks `app/`, finds `route.rs` files and reads what each one exports.

use std::fmt;
use std::fs;
use std::path::Path;

use crate::error::{Diagnostic, Location};
use crate::segment::Segment;

/// The HTTP methods a route file can export, spelled as the handler's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    /// `pub async fn DELETE`
    Delete,
    /// `pub async fn GET` (also answers HEAD unless HEAD is exported)
    Get,
    /// `pub async fn HEAD`
    Head,
    /// `pub async fn OPTIONS` (replaces the automatic answer)
    Options,
    /// `pub async fn PATCH`
    Patch,
    /// `pub async fn POST`
    Post,
    /// `pub async fn PUT`
    Put,
}

impl Method {
    /// Every method, in the (alphabetical) order used for `Allow`.
    pub const ALL: [Method; 7] = [
        Method::Delete,
        Method::Get,
        Method::Head,
        Method::Options,
        Method::Patch,
        Method::Post,
        Method::Put,
    ];

    /// The exported name, which is also the HTTP method token.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Delete => "DELETE",
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
            Method::Patch => "PATCH",
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }

    fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == name)
    }

    fn from_name_ignoring_case(name: &str) -> Option<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Per-route settings a route file declares as `pub const`; the generated code reads the
/// constant itself, so rustc checks its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Setting {
    /// `pub const BODY_LIMIT: usize = …;` — the largest request body this route accepts.
    BodyLimit,
    /// `pub const CSRF: bool = false;` — exempts the route's mutations from the CSRF check
    /// (webhooks that authenticate with a signature).
    Csrf,
    /// `pub const AUTH: routekit::Auth = routekit::Auth::Required;` — every handler of the
    /// file needs a session.
    Auth,
    /// `pub const CAPTCHA: bool = true;` — the route's mutations need a captcha token.
    Captcha,
}

impl Setting {
    const ALL: [Setting; 4] = [
        Setting::BodyLimit,
        Setting::Csrf,
        Setting::Auth,
        Setting::Captcha,
    ];

    /// The constant's name in `route.rs`.
    pub fn const_name(self) -> &'static str {
        match self {
            Setting::BodyLimit => "BODY_LIMIT",
            Setting::Csrf => "CSRF",
            Setting::Auth => "AUTH",
            Setting::Captcha => "CAPTCHA",
        }
    }

    /// The `Route` builder method the generated code calls with the constant.
    pub fn builder_method(self) -> &'static str {
        match self {
            Setting::BodyLimit => "body_limit",
            Setting::Csrf => "csrf",
            Setting::Auth => "auth",
            Setting::Captcha => "captcha",
        }
    }
}

/// One `route.rs` and what it exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteFile {
    /// Path relative to the crate root, `/`-separated: `app/users/[id]/route.rs`.
    pub path: String,
    /// Every folder between `app/` and the file, groups included.
    pub segments: Vec<Segment>,
    /// Exported handlers with the line they are declared on, sorted by method.
    pub handlers: Vec<(Method, usize)>,
    /// Declared settings, sorted.
    pub settings: Vec<Setting>,
}

/// Finds every routable `route.rs` under `app_dir`. Paths in the result and in diagnostics
/// start with `prefix` (normally `app`).
pub fn scan(app_dir: &Path, prefix: &str) -> Result<Vec<RouteFile>, Vec<Diagnostic>> {
    let mut out = Vec::new();
    let mut diagnostics = Vec::new();
    let mut walker = Walker {
        out: &mut out,
        diagnostics: &mut diagnostics,
    };
    walker.walk(app_dir, prefix, &mut Vec::new(), &mut Vec::new());
    if diagnostics.is_empty() {
        Ok(out)
    } else {
        Err(diagnostics)
    }
}

struct Walker<'a> {
    out: &'a mut Vec<RouteFile>,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl Walker<'_> {
    /// `bad` holds folders on the way down whose names cannot be mapped; they are reported
    /// only if a route file lives below them (a plain module folder may be named anything).
    fn walk(
        &mut self,
        dir: &Path,
        display: &str,
        segments: &mut Vec<Segment>,
        bad: &mut Vec<(String, String)>,
    ) {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                self.diagnostics.push(
                    Diagnostic::new(format!("cannot read folder: {e}")).at(Location::file(display)),
                );
                return;
            }
        };
        let mut names: Vec<(String, bool)> = Vec::new();
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                self.diagnostics.push(
                    Diagnostic::new("a file or folder name is not valid UTF-8")
                        .at(Location::file(display))
                        .help("rename it using ASCII letters, digits, `-` or `_`"),
                );
                continue;
            };
            // Follows symlinks, as cargo and rustc do.
            let is_dir = fs::metadata(entry.path())
                .map(|m| m.is_dir())
                .unwrap_or(false);
            names.push((name, is_dir));
        }
        names.sort();
        for (name, is_dir) in names {
            let child_display = format!("{display}/{name}");
            if !is_dir {
                if name == "route.rs" {
                    self.route_file(&dir.join(&name), child_display, segments, bad);
                }
                continue;
            }
            match Segment::parse(&name) {
                Ok(Segment::Private) => {}
                Ok(segment) => {
                    segments.push(segment);
                    self.walk(&dir.join(&name), &child_display, segments, bad);
                    segments.pop();
                }
                Err(hint) => {
                    bad.push((child_display.clone(), hint));
                    segments.push(Segment::Static(name.clone()));
                    self.walk(&dir.join(&name), &child_display, segments, bad);
                    segments.pop();
                    bad.pop();
                }
            }
        }
    }

    fn route_file(
        &mut self,
        file: &Path,
        display: String,
        segments: &[Segment],
        bad: &[(String, String)],
    ) {
        if let Some((folder, hint)) = bad.last() {
            self.diagnostics.push(
                Diagnostic::new("folder name cannot be mapped to a URL segment")
                    .at(Location::file(format!("{folder}/")))
                    .at(Location::file(display))
                    .help(hint.clone()),
            );
            return;
        }
        let source = match fs::read_to_string(file) {
            Ok(source) => source,
            Err(e) => {
                self.diagnostics.push(
                    Diagnostic::new(format!("cannot read route file: {e}"))
                        .at(Location::file(display)),
                );
                return;
            }
        };
        match read_exports(&source, &display) {
            Ok((handlers, settings)) => self.out.push(RouteFile {
                path: display,
                segments: segments.to_vec(),
                handlers,
                settings,
            }),
            Err(mut found) => self.diagnostics.append(&mut found),
        }
    }
}

type Exports = (Vec<(Method, usize)>, Vec<Setting>);

/// Reads the handlers and settings a route file exports from its top-level items.
pub fn read_exports(source: &str, path: &str) -> Result<Exports, Vec<Diagnostic>> {
    let file = syn::parse_file(source).map_err(|e| {
        let start = e.span().start();
        vec![
            Diagnostic::new(format!("cannot parse route file: {e}"))
                .at(Location::line(path, start.line))
                .help("fix the syntax error; rustc will explain it in more detail"),
        ]
    })?;
    let mut handlers = Vec::new();
    let mut settings = Vec::new();
    let mut diagnostics = Vec::new();
    for item in &file.items {
        match item {
            syn::Item::Fn(f) => {
                let ident = &f.sig.ident;
                let line = ident.span().start().line;
                let is_pub = exported(&f.vis);
                check_handler_name(&ident.to_string(), is_pub, path, line, &mut handlers)
                    .map_err(|d| diagnostics.push(d))
                    .ok();
            }
            syn::Item::Use(u) if exported(&u.vis) => {
                let mut names = Vec::new();
                use_names(&u.tree, &mut names);
                for ident in names {
                    let line = ident.span().start().line;
                    check_handler_name(&ident.to_string(), true, path, line, &mut handlers)
                        .map_err(|d| diagnostics.push(d))
                        .ok();
                }
            }
            syn::Item::Const(c) => {
                if let Some(setting) = Setting::ALL.into_iter().find(|s| c.ident == s.const_name())
                {
                    if exported(&c.vis) {
                        settings.push(setting);
                    } else {
                        diagnostics.push(
                            Diagnostic::new(format!("`{}` must be `pub`", setting.const_name()))
                                .at(Location::line(path, c.ident.span().start().line))
                                .help(format!("write `pub const {}`", setting.const_name())),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    if handlers.is_empty() && diagnostics.is_empty() {
        diagnostics.push(
            Diagnostic::new("route file exports no handler")
                .at(Location::file(path))
                .help(
                    "export at least one of `pub async fn GET`, `POST`, `PUT`, `PATCH`, `DELETE`, \
                     `HEAD` or `OPTIONS`, or move the file into a `_private` folder",
                ),
        );
    }
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    handlers.sort();
    settings.sort();
    Ok((handlers, settings))
}

fn exported(vis: &syn::Visibility) -> bool {
    match vis {
        syn::Visibility::Public(_) => true,
        // `pub(crate)` is reachable from the generated router; `pub(super)`/`pub(in …)` are not.
        syn::Visibility::Restricted(r) => r.in_token.is_none() && r.path.is_ident("crate"),
        syn::Visibility::Inherited => false,
    }
}

fn check_handler_name(
    name: &str,
    is_pub: bool,
    path: &str,
    line: usize,
    handlers: &mut Vec<(Method, usize)>,
) -> Result<(), Diagnostic> {
    if let Some(method) = Method::from_name(name) {
        if !is_pub {
            return Err(Diagnostic::new(format!("handler `{name}` is not public"))
                .at(Location::line(path, line))
                .help(format!(
                    "write `pub async fn {name}` so the router can call it"
                )));
        }
        handlers.push((method, line));
        return Ok(());
    }
    if !is_pub {
        return Ok(());
    }
    if let Some(method) = Method::from_name_ignoring_case(name) {
        return Err(
            Diagnostic::new(format!("handler `{name}` is not uppercase"))
                .at(Location::line(path, line))
                .help(format!(
                    "use {method}: handlers are named after the HTTP method, in uppercase"
                )),
        );
    }
    if name.eq_ignore_ascii_case("TRACE") || name.eq_ignore_ascii_case("CONNECT") {
        return Err(
            Diagnostic::new(format!("`{name}` cannot be exported from a route file"))
                .at(Location::line(path, line))
                .help(
                    "TRACE and CONNECT are never routed (they are answered with 405); \
                     remove the function or make it private",
                ),
        );
    }
    Ok(())
}

/// The names a `pub use` brings into the module (renames count by their new name).
pub(crate) fn use_names<'a>(tree: &'a syn::UseTree, out: &mut Vec<&'a syn::Ident>) {
    match tree {
        syn::UseTree::Path(p) => use_names(&p.tree, out),
        syn::UseTree::Name(n) => out.push(&n.ident),
        syn::UseTree::Rename(r) => out.push(&r.rename),
        syn::UseTree::Group(g) => g.items.iter().for_each(|t| use_names(t, out)),
        syn::UseTree::Glob(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handlers_and_settings_are_read_with_lines() {
        let src = "use routekit::Json;\n\npub async fn POST() {}\npub async fn GET() {}\n\
                   pub const BODY_LIMIT: usize = 10;\npub const CSRF: bool = false;\nfn get() {}\npub use other::x as DELETE;\n";
        let (handlers, settings) = read_exports(src, "app/route.rs").unwrap();
        assert_eq!(
            handlers,
            vec![(Method::Delete, 8), (Method::Get, 4), (Method::Post, 3)]
        );
        assert_eq!(settings, vec![Setting::BodyLimit, Setting::Csrf]);
    }

    #[test]
    fn handlers_inside_nested_modules_do_not_count() {
        let src = "mod inner { pub async fn GET() {} }";
        let err = read_exports(src, "app/route.rs").unwrap_err();
        assert_eq!(err[0].message, "route file exports no handler");
    }

    #[test]
    fn lowercase_and_private_handlers_are_reported() {
        let err = read_exports("pub async fn get() {}\nasync fn POST() {}", "r.rs").unwrap_err();
        assert_eq!(err.len(), 2);
        assert!(err[0].help.as_deref().unwrap().starts_with("use GET"));
        assert_eq!(err[1].message, "handler `POST` is not public");
    }
}
