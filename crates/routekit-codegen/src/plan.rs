//! Turns scanned route files into URL patterns and rejects trees that would be ambiguous.

use std::collections::{BTreeMap, HashMap};

use crate::error::{Diagnostic, Error, Location};
use crate::scan::RouteFile;
use crate::segment::Segment;

/// A route file with its place in the URL space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRoute {
    /// The scanned file.
    pub file: RouteFile,
    /// The URL as the folders spell it, groups removed: `/users/[id]`.
    pub url: String,
    /// The axum/matchit patterns that serve it: `/users/{id}`; an optional catch-all has two.
    pub patterns: Vec<String>,
    /// The Rust module name the generated code gives the file.
    pub module: String,
}

/// All routes of an `app/` tree, ordered by URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePlan {
    /// The routes, sorted by URL.
    pub routes: Vec<PlannedRoute>,
}

/// Checks the tree and computes patterns.
///
/// ```
/// use routekit_codegen::{plan, read_exports, RouteFile, Segment};
/// let (handlers, settings) = read_exports("pub async fn GET() {}", "app/users/[id]/route.rs").unwrap();
/// let file = RouteFile {
///     path: "app/users/[id]/route.rs".into(),
///     segments: vec![Segment::Static("users".into()), Segment::Dynamic("id".into())],
///     handlers,
///     settings,
/// };
/// let plan = plan(vec![file]).unwrap();
/// assert_eq!(plan.routes[0].patterns, ["/users/{id}"]);
/// ```
pub fn plan(files: Vec<RouteFile>) -> Result<RoutePlan, Error> {
    let mut diagnostics = Vec::new();
    let mut routes = Vec::with_capacity(files.len());
    for file in files {
        match plan_one(file) {
            Ok(route) => routes.push(route),
            Err(d) => diagnostics.push(d),
        }
    }
    routes.sort_by(|a, b| a.url.cmp(&b.url).then(a.file.path.cmp(&b.file.path)));

    check_duplicates(&routes, &mut diagnostics);
    check_param_names(&routes, &mut diagnostics);
    if diagnostics.is_empty() {
        // Whatever our own checks missed, the router itself must accept: insert every pattern
        // now so that a conflict fails the build instead of panicking at server start.
        check_with_router(&routes, &mut diagnostics);
    }
    if !diagnostics.is_empty() {
        return Err(Error::from_diagnostics(diagnostics));
    }
    assign_modules(&mut routes);
    Ok(RoutePlan { routes })
}

fn plan_one(file: RouteFile) -> Result<PlannedRoute, Diagnostic> {
    let url_segments: Vec<&Segment> = file
        .segments
        .iter()
        .filter(|s| !matches!(s, Segment::Group(_)))
        .collect();
    if let Some(pos) = url_segments
        .iter()
        .position(|s| matches!(s, Segment::CatchAll(_) | Segment::OptionalCatchAll(_)))
    {
        if pos + 1 != url_segments.len() {
            return Err(Diagnostic::new(format!(
                "catch-all segment `{}` is not the last segment of the URL",
                url_segments[pos]
            ))
            .at(Location::file(file.path.clone()))
            .help("a catch-all takes the rest of the path; move the route file into the catch-all folder itself"));
        }
    }
    let mut url = String::new();
    let mut pattern = String::new();
    let mut patterns = Vec::with_capacity(1);
    for segment in &url_segments {
        url.push('/');
        url.push_str(&segment.to_string());
        match segment {
            Segment::Static(s) => {
                pattern.push('/');
                pattern.push_str(s);
            }
            Segment::Dynamic(p) => {
                pattern.push_str("/{");
                pattern.push_str(p);
                pattern.push('}');
            }
            Segment::CatchAll(p) => pattern.push_str(&format!("/{{*{p}}}")),
            Segment::OptionalCatchAll(p) => {
                patterns.push(if pattern.is_empty() {
                    "/".to_owned()
                } else {
                    pattern.clone()
                });
                pattern.push_str(&format!("/{{*{p}}}"));
            }
            Segment::Group(_) | Segment::Private => unreachable!("filtered out above"),
        }
    }
    if url.is_empty() {
        url.push('/');
    }
    if pattern.is_empty() {
        pattern.push('/');
    }
    patterns.push(pattern);
    Ok(PlannedRoute {
        file,
        url,
        patterns,
        module: String::new(),
    })
}

/// The shape of a URL with parameter names erased: two routes with one shape serve the same URLs.
fn shape(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|part| {
            if part.starts_with("{*") {
                "{*}"
            } else if part.starts_with('{') {
                "{}"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn check_duplicates(routes: &[PlannedRoute], diagnostics: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<String, &PlannedRoute> = HashMap::new();
    for route in routes {
        for pattern in &route.patterns {
            let Some(first) = seen.get(&shape(pattern)).copied() else {
                seen.insert(shape(pattern), route);
                continue;
            };
            if first.file.path == route.file.path {
                continue;
            }
            let shown = if first.patterns.len() + route.patterns.len() > 2 {
                display_url(pattern)
            } else {
                route.url.clone()
            };
            let grouped = |r: &PlannedRoute| {
                r.file
                    .segments
                    .iter()
                    .any(|s| matches!(s, Segment::Group(_)))
            };
            let help = if first.patterns.len() > 1 || route.patterns.len() > 1 {
                "an optional catch-all `[[...name]]` also matches the URL of its parent folder; \
                 use a required catch-all `[...name]` or remove one of the files"
            } else if grouped(first) || grouped(route) {
                "route groups `(name)` are left out of the URL; keep only one of these files"
            } else {
                "parameter names do not change which URLs a route matches; keep only one of these files"
            };
            diagnostics.push(
                Diagnostic::new(format!("two route files serve the URL {shown}"))
                    .at(Location::file(first.file.path.clone()))
                    .at(Location::file(route.file.path.clone()))
                    .help(help),
            );
        }
    }
}

/// `/shop/{*slug}` → `/shop/[...slug]`, for messages.
fn display_url(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|part| {
            if let Some(p) = part.strip_prefix("{*").and_then(|p| p.strip_suffix('}')) {
                format!("[...{p}]")
            } else if let Some(p) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                format!("[{p}]")
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn check_param_names(routes: &[PlannedRoute], diagnostics: &mut Vec<Diagnostic>) {
    // Shape of the prefix before a dynamic segment → the first name used there and its file.
    let mut names: BTreeMap<String, (&str, &str)> = BTreeMap::new();
    let mut reported = std::collections::HashSet::new();
    for route in routes {
        let mut prefix = String::new();
        for segment in route
            .file
            .segments
            .iter()
            .filter(|s| !matches!(s, Segment::Group(_)))
        {
            if let Segment::Dynamic(name) = segment {
                let key = shape(&prefix);
                match names.get(&key) {
                    Some((first, file)) if first != name => {
                        if reported.insert((key.clone(), name.clone())) {
                            diagnostics.push(
                                Diagnostic::new(format!(
                                    "sibling dynamic segments have different names: `[{first}]` and `[{name}]`"
                                ))
                                .at(Location::file(file.to_string()))
                                .at(Location::file(route.file.path.clone()))
                                .help(format!(
                                    "one position in the URL has one parameter name; rename `[{name}]` to `[{first}]`"
                                )),
                            );
                        }
                    }
                    Some(_) => {}
                    None => {
                        names.insert(key, (name, &route.file.path));
                    }
                }
                prefix.push_str("/{}");
            } else {
                prefix.push('/');
                prefix.push_str(&segment.to_string());
            }
        }
    }
}

fn check_with_router(routes: &[PlannedRoute], diagnostics: &mut Vec<Diagnostic>) {
    let mut router = matchit::Router::new();
    let mut owners: HashMap<&str, &str> = HashMap::new();
    for route in routes {
        for pattern in &route.patterns {
            if let Err(e) = router.insert(pattern.as_str(), ()) {
                let mut d =
                    Diagnostic::new(format!("route `{pattern}` is rejected by the router: {e}"))
                        .at(Location::file(route.file.path.clone()));
                if let matchit::InsertError::Conflict { with } = &e {
                    if let Some(other) = owners.get(with.as_str()) {
                        d = d.at(Location::file(other.to_string()));
                    }
                }
                diagnostics.push(
                    d.help("rename or move one of the folders so that each URL has one route"),
                );
            } else {
                owners.insert(pattern, &route.file.path);
            }
        }
    }
}

/// Gives each route a readable, unique Rust module name derived from its folders.
fn assign_modules(routes: &mut [PlannedRoute]) {
    let mut used = std::collections::HashSet::new();
    for route in routes.iter_mut() {
        let mut name = String::from("route");
        for segment in &route.file.segments {
            let text = match segment {
                Segment::Static(s) | Segment::Group(s) => s.as_str(),
                Segment::Dynamic(p) | Segment::CatchAll(p) | Segment::OptionalCatchAll(p) => {
                    p.as_str()
                }
                Segment::Private => "",
            };
            name.push('_');
            name.extend(text.chars().map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            }));
        }
        let mut unique = name.clone();
        let mut n = 1;
        while !used.insert(unique.clone()) {
            n += 1;
            unique = format!("{name}_{n}");
        }
        route.module = unique;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_erase_parameter_names() {
        assert_eq!(shape("/users/{id}/posts/{*rest}"), "/users/{}/posts/{*}");
        assert_eq!(display_url("/shop/{*slug}"), "/shop/[...slug]");
    }
}
