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
    /// For each pattern, its router level: 0 for almost all routes. A catch-all that the
    /// router cannot hold next to a dynamic sibling (`[id]` beside `[...slug]`) moves to a
    /// fallback level, tried only when no route of a lower level matches, which is exactly
    /// "dynamic beats catch-all".
    pub levels: Vec<usize>,
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
        assign_levels(&mut routes, &mut diagnostics);
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
        && pos + 1 != url_segments.len()
    {
        return Err(Diagnostic::new(format!(
                "catch-all segment `{}` is not the last segment of the URL",
                url_segments[pos]
            ))
            .at(Location::file(file.path.clone()))
            .help("a catch-all takes the rest of the path; move the route file into the catch-all folder itself"));
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
    let levels = vec![0; patterns.len()];
    Ok(PlannedRoute {
        file,
        url,
        patterns,
        levels,
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

/// Inserts every pattern into matchit (axum's router) as the runtime will. Static and dynamic
/// patterns go to level 0, where a conflict is a real error. Catch-alls follow, most specific
/// first, each on the lowest level at or above the previous one that accepts it: a less
/// specific catch-all then never shadows a more specific one.
fn assign_levels(routes: &mut [PlannedRoute], diagnostics: &mut Vec<Diagnostic>) {
    let mut levels = vec![matchit::Router::new()];
    let mut owners: HashMap<String, String> = HashMap::new();
    let mut catch_alls = Vec::new();
    for (r, route) in routes.iter().enumerate() {
        for (p, pattern) in route.patterns.iter().enumerate() {
            if pattern.contains("{*") {
                catch_alls.push((r, p));
                continue;
            }
            if let Err(e) = levels[0].insert(pattern.as_str(), ()) {
                diagnostics.push(conflict(pattern, &route.file.path, &e, &owners));
            } else {
                owners.insert(pattern.clone(), route.file.path.clone());
            }
        }
    }
    catch_alls.sort_by_key(|&(r, p)| specificity(&routes[r].patterns[p]));
    let mut placed: Vec<(String, usize)> = Vec::new();
    for (r, p) in catch_alls {
        let pattern = routes[r].patterns[p].clone();
        // Never below a more specific catch-all that matches some of the same URLs.
        let mut level = placed
            .iter()
            .filter(|(other, _)| overlaps(&pattern, other))
            .map(|(_, level)| *level)
            .max()
            .unwrap_or(0);
        loop {
            if level == levels.len() {
                levels.push(matchit::Router::new());
            }
            match levels[level].insert(pattern.as_str(), ()) {
                Ok(()) => break,
                Err(matchit::InsertError::Conflict { .. }) => level += 1,
                Err(e) => {
                    diagnostics.push(conflict(&pattern, &routes[r].file.path, &e, &owners));
                    break;
                }
            }
        }
        owners.insert(pattern.clone(), routes[r].file.path.clone());
        routes[r].levels[p] = level;
        placed.push((pattern, level));
    }
}

/// Whether catch-all `general` (the less specific) matches some URL that `specific` matches:
/// each segment of its prefix is a parameter in either pattern, or the same text.
fn overlaps(general: &str, specific: &str) -> bool {
    let prefix = |p: &str| -> Vec<String> {
        p.split('/')
            .filter(|s| !s.is_empty() && !s.starts_with("{*"))
            .map(str::to_owned)
            .collect()
    };
    let (g, s) = (prefix(general), prefix(specific));
    g.len() <= s.len()
        && g.iter()
            .zip(&s)
            .all(|(a, b)| a.starts_with('{') || b.starts_with('{') || a == b)
}

/// Sort key: more segments before the catch-all first, then static before dynamic.
fn specificity(pattern: &str) -> (std::cmp::Reverse<usize>, Vec<bool>) {
    let parts: Vec<&str> = pattern
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with("{*"))
        .collect();
    (
        std::cmp::Reverse(parts.len()),
        parts.iter().map(|s| s.starts_with('{')).collect(),
    )
}

fn conflict(
    pattern: &str,
    file: &str,
    e: &matchit::InsertError,
    owners: &HashMap<String, String>,
) -> Diagnostic {
    let mut d = Diagnostic::new(format!("route `{pattern}` is rejected by the router: {e}"))
        .at(Location::file(file.to_owned()));
    if let matchit::InsertError::Conflict { with } = e
        && let Some(other) = owners.get(with.as_str())
    {
        d = d.at(Location::file(other.clone()));
    }
    d.help("rename or move one of the folders so that each URL has one route")
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

    #[test]
    fn catch_alls_overlap_when_their_prefixes_can_match_the_same_url() {
        assert!(overlaps("/{*all}", "/docs/{*slug}"));
        assert!(overlaps("/a/{id}/{*x}", "/a/b/{*y}"));
        assert!(!overlaps("/shop/{*path}", "/docs/{*slug}"));
        assert!(!overlaps("/a/b/{*x}", "/a/{*y}"));
    }
}
