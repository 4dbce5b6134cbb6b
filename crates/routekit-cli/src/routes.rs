//! `routekit routes`: the route table of the project in a folder, read from its `app/` and
//! `src/` without building or starting it.

use std::fmt::Write;
use std::fs;
use std::path::Path;

use routekit_codegen::{AuthRule, Declared, Method, RouteDescription, SessionUse};
use serde_json::{Value, json};

use crate::term::Style;

/// The largest body a route takes unless it or the app says otherwise (routekit's
/// `DEFAULT_BODY_LIMIT`).
pub const DEFAULT_BODY_LIMIT: u64 = 1024 * 1024;

/// One row of the table: a method of a route file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// `GET`, `POST`, …
    pub method: Method,
    /// The URL as the folders spell it: `/users/[id]`.
    pub url: String,
    /// The router patterns: `/users/{id}`.
    pub patterns: Vec<String>,
    /// `app/users/[id]/route.rs`.
    pub file: String,
    /// The line of the handler.
    pub line: usize,
    /// Who may call it.
    pub auth: AuthState,
    /// Whether a mutation needs a CSRF token.
    pub csrf: CsrfState,
    /// Whether a mutation needs a captcha token: `Some(expr)` for an expression.
    pub captcha: Flag,
    /// The largest body, `None` for the app-wide limit.
    pub body_limit: Option<Declared<u64>>,
}

/// Who may call a handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthState {
    /// Anyone.
    Public,
    /// `Auth::Required` in the file: a session, checked before the handler.
    Required,
    /// `Auth::Role(role)` in the file.
    Role(String),
    /// No `AUTH`, but the handler takes `Session`: no session, no call.
    Session,
    /// The handler takes `Option<Session>`: anyone, signed in or not.
    Optional,
    /// `AUTH` is an expression (its text), or the handler is re-exported (`None`).
    Unknown(Option<String>),
}

/// The CSRF state of a handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsrfState {
    /// Not a mutation (`GET`, `HEAD`, `OPTIONS`).
    NotMutating,
    /// A mutation that needs a token.
    Checked,
    /// `pub const CSRF: bool = false;`.
    Exempt,
    /// The app switches CSRF off (`.csrf(false)` in `src/`).
    Off,
    /// `CSRF` is an expression.
    Expr(String),
}

/// A yes/no setting of a mutation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flag {
    /// Not a mutation, so the setting does not apply.
    NotApplicable,
    /// On or off.
    Value(bool),
    /// An expression.
    Expr(String),
}

/// The table and what it warns of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// A row per method of each route file, ordered by URL then method.
    pub rows: Vec<Row>,
    /// Routes that skip a protection, and app-wide settings found in `src/`.
    pub warnings: Vec<String>,
}

/// Reads the project at `root`: `app/` through the same scanner and checks as its build, and
/// `src/` for an app-wide `.csrf(false)`. A tree the build would refuse is refused with the
/// build's diagnostics.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::create_dir_all(dir.path().join("app/hook")).unwrap();
/// std::fs::write(
///     dir.path().join("app/hook/route.rs"),
///     "pub const CSRF: bool = false;\npub async fn POST() {}",
/// )
/// .unwrap();
/// let report = routekit_cli::routes::read(dir.path()).unwrap();
/// assert_eq!(report.rows[0].csrf, routekit_cli::routes::CsrfState::Exempt);
/// assert!(report.warnings[0].starts_with("POST /hook is exempt from CSRF checks"));
/// ```
pub fn read(root: &Path) -> Result<Report, routekit_codegen::Error> {
    let routes = routekit_codegen::describe(root)?;
    let csrf_off = csrf_switched_off(&root.join("src"), "src");
    let mut rows = Vec::new();
    let mut warnings = Vec::new();
    for route in &routes {
        let exempt: Vec<&str> = route
            .handlers
            .iter()
            .filter(|h| is_mutating(h.method))
            .map(|h| h.method.as_str())
            .collect();
        if csrf_off.is_empty()
            && matches!(route.csrf, Some(Declared::Value(false)))
            && !exempt.is_empty()
        {
            warnings.push(format!(
                "{} {} is exempt from CSRF checks (`pub const CSRF: bool = false;` in {}); it \
                 must authenticate its callers another way, such as a signature",
                exempt.join(", "),
                route.url,
                route.file
            ));
        }
        for handler in &route.handlers {
            rows.push(row(route, handler, !csrf_off.is_empty()));
        }
    }
    for place in csrf_off {
        warnings.push(format!(
            "CSRF protection is switched off for the whole app (`.csrf(false)` at {place}); any \
             site can make a signed-in browser send requests to it"
        ));
    }
    Ok(Report { rows, warnings })
}

fn is_mutating(method: Method) -> bool {
    !matches!(method, Method::Get | Method::Head | Method::Options)
}

fn row(
    route: &RouteDescription,
    handler: &routekit_codegen::HandlerDescription,
    csrf_off: bool,
) -> Row {
    let mutating = is_mutating(handler.method);
    let auth = match &route.auth {
        Some(Declared::Value(AuthRule::Required)) => AuthState::Required,
        Some(Declared::Value(AuthRule::Role(role))) => AuthState::Role(role.clone()),
        Some(Declared::Expr(text)) => AuthState::Unknown(Some(text.clone())),
        None | Some(Declared::Value(AuthRule::Public)) => match handler.session {
            SessionUse::Required => AuthState::Session,
            SessionUse::Optional => AuthState::Optional,
            SessionUse::None => AuthState::Public,
            SessionUse::Unknown => AuthState::Unknown(None),
        },
    };
    let csrf = match (&route.csrf, mutating, csrf_off) {
        (_, false, _) => CsrfState::NotMutating,
        (_, true, true) => CsrfState::Off,
        (Some(Declared::Value(false)), true, false) => CsrfState::Exempt,
        (Some(Declared::Expr(text)), true, false) => CsrfState::Expr(text.clone()),
        (None | Some(Declared::Value(true)), true, false) => CsrfState::Checked,
    };
    let captcha = match (&route.captcha, mutating) {
        (_, false) => Flag::NotApplicable,
        (None, true) => Flag::Value(false),
        (Some(Declared::Value(b)), true) => Flag::Value(*b),
        (Some(Declared::Expr(text)), true) => Flag::Expr(text.clone()),
    };
    Row {
        method: handler.method,
        url: route.url.clone(),
        patterns: route.patterns.clone(),
        file: route.file.clone(),
        line: handler.line,
        auth,
        csrf,
        captcha,
        body_limit: route.body_limit.clone(),
    }
}

/// `file:line` of every `.csrf(false)` call in the `.rs` files below `dir` (comments skipped).
fn csrf_switched_off(dir: &Path, display: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return found;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let shown = format!("{display}/{name}");
        if path.is_dir() {
            found.extend(csrf_switched_off(&path, &shown));
        } else if name.ends_with(".rs")
            && let Ok(source) = fs::read_to_string(&path)
        {
            for (n, line) in source.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                let squeezed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
                if squeezed.contains(".csrf(false)") {
                    found.push(format!("{shown}:{}", n + 1));
                }
            }
        }
    }
    found
}

impl AuthState {
    /// The table's spelling: `-`, `required`, `role:<name>`, `session`, `optional`, or the
    /// expression.
    pub fn label(&self) -> String {
        match self {
            AuthState::Public => "-".to_owned(),
            AuthState::Required => "required".to_owned(),
            AuthState::Role(role) => format!("role:{role}"),
            AuthState::Session => "session".to_owned(),
            AuthState::Optional => "optional".to_owned(),
            AuthState::Unknown(Some(text)) => text.clone(),
            AuthState::Unknown(None) => "?".to_owned(),
        }
    }

    fn json(&self) -> Value {
        let (kind, role, expr) = match self {
            AuthState::Public => ("public", None, None),
            AuthState::Required => ("required", None, None),
            AuthState::Role(role) => ("role", Some(role.as_str()), None),
            AuthState::Session => ("session", None, None),
            AuthState::Optional => ("optional", None, None),
            AuthState::Unknown(expr) => ("unknown", None, expr.as_deref()),
        };
        json!({ "requirement": kind, "role": role, "expr": expr })
    }
}

impl CsrfState {
    /// The table's spelling: `-`, `checked`, `exempt`, `off`, or the expression.
    pub fn label(&self) -> String {
        match self {
            CsrfState::NotMutating => "-".to_owned(),
            CsrfState::Checked => "checked".to_owned(),
            CsrfState::Exempt => "exempt".to_owned(),
            CsrfState::Off => "off".to_owned(),
            CsrfState::Expr(text) => text.clone(),
        }
    }

    fn json(&self) -> Value {
        match self {
            CsrfState::NotMutating => json!("not_mutating"),
            CsrfState::Checked => json!("checked"),
            CsrfState::Exempt => json!("exempt"),
            CsrfState::Off => json!("off"),
            CsrfState::Expr(text) => json!({ "expr": text }),
        }
    }
}

impl Flag {
    fn label(&self, on: &str) -> String {
        match self {
            Flag::NotApplicable | Flag::Value(false) => "-".to_owned(),
            Flag::Value(true) => on.to_owned(),
            Flag::Expr(text) => text.clone(),
        }
    }

    fn json(&self) -> Value {
        match self {
            Flag::NotApplicable => Value::Null,
            Flag::Value(b) => json!(b),
            Flag::Expr(text) => json!({ "expr": text }),
        }
    }
}

/// `64 KiB`, `1 MiB`, `1500 B`.
///
/// ```
/// assert_eq!(routekit_cli::routes::bytes(64 * 1024), "64 KiB");
/// assert_eq!(routekit_cli::routes::bytes(3 << 20), "3 MiB");
/// assert_eq!(routekit_cli::routes::bytes(1500), "1500 B");
/// ```
pub fn bytes(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} B")
    }
}

fn body_limit_label(limit: &Option<Declared<u64>>) -> String {
    match limit {
        None => "default".to_owned(),
        Some(Declared::Value(n)) => bytes(*n),
        Some(Declared::Expr(text)) => text.clone(),
    }
}

impl Report {
    /// The table as text, then the warnings (`warning: …`), then a key to the columns.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::create_dir_all(dir.path().join("app")).unwrap();
    /// std::fs::write(dir.path().join("app/route.rs"), "pub async fn GET() {}").unwrap();
    /// let report = routekit_cli::routes::read(dir.path()).unwrap();
    /// let text = report.text(routekit_cli::term::Style::plain());
    /// assert!(text.starts_with("METHOD  URL  AUTH  CSRF  CAPTCHA  BODY LIMIT  FILE\nGET     /    -     -     -        default     app/route.rs:1\n"));
    /// ```
    pub fn text(&self, style: Style) -> String {
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.method.as_str().to_owned(),
                    r.url.clone(),
                    r.auth.label(),
                    r.csrf.label(),
                    r.captcha.label("required"),
                    body_limit_label(&r.body_limit),
                    format!("{}:{}", r.file, r.line),
                ]
            })
            .collect();
        let header = [
            "METHOD",
            "URL",
            "AUTH",
            "CSRF",
            "CAPTCHA",
            "BODY LIMIT",
            "FILE",
        ];
        let mut lines = crate::term::table(&header, &rows).into_iter();
        let mut out = String::new();
        if let Some(header) = lines.next() {
            let _ = writeln!(out, "{}", style.bold(&header));
        }
        for (text, data) in lines.zip(&self.rows) {
            let text = match data.csrf {
                CsrfState::Exempt | CsrfState::Off => style.warning(&text),
                _ => text,
            };
            let _ = writeln!(out, "{text}");
        }
        if self.rows.is_empty() {
            out.push_str("(no routes: add app/route.rs with `pub async fn GET`)\n");
        }
        for warning in &self.warnings {
            let _ = writeln!(out, "{} {warning}", style.warning("warning:"));
        }
        out
    }

    /// The table for tools: `{"routes": [...], "warnings": [...]}`, a route object per row
    /// with `method`, `url`, `patterns`, `file`, `line`, `auth` (`requirement`: `public`,
    /// `required`, `role`, `session`, `optional` or `unknown`; `role`; `expr`), `csrf`
    /// (`not_mutating`, `checked`, `exempt`, `off` or `{"expr": …}`), `captcha` (`null` for a
    /// method it does not apply to, a bool, or `{"expr": …}`) and `body_limit` (bytes, `null`
    /// for the app-wide limit, or `{"expr": …}`).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::create_dir_all(dir.path().join("app")).unwrap();
    /// std::fs::write(dir.path().join("app/route.rs"), "pub async fn POST(s: Session) {}").unwrap();
    /// let json = routekit_cli::routes::read(dir.path()).unwrap().json();
    /// assert_eq!(json["routes"][0]["auth"]["requirement"], "session");
    /// assert_eq!(json["routes"][0]["csrf"], "checked");
    /// ```
    pub fn json(&self) -> Value {
        let routes: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "method": r.method.as_str(),
                    "url": r.url,
                    "patterns": r.patterns,
                    "file": r.file,
                    "line": r.line,
                    "auth": r.auth.json(),
                    "csrf": r.csrf.json(),
                    "captcha": r.captcha.json(),
                    "body_limit": match &r.body_limit {
                        None => Value::Null,
                        Some(Declared::Value(n)) => json!(n),
                        Some(Declared::Expr(text)) => json!({ "expr": text }),
                    },
                })
            })
            .collect();
        json!({ "routes": routes, "warnings": self.warnings })
    }
}
