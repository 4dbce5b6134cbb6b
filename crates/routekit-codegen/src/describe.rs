//! What each route file declares, read without compiling it: for `routekit routes` and other
//! tools that show the route table of a project.
//!
//! The generated router reads the settings' constants themselves, so rustc is the judge of
//! their values; this module evaluates the forms people write (`true`, `64 * 1024`,
//! `Auth::Role("admin")`) and hands back the source text of anything else.

use std::fs;
use std::path::Path;

use syn::spanned::Spanned;

use crate::error::{Diagnostic, Error, Location};
use crate::plan::plan;
use crate::scan::{Method, scan, use_names};

/// A setting's value as the route file spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Declared<T> {
    /// The value, evaluated from a literal expression.
    Value(T),
    /// An expression this reader does not evaluate (a constant from elsewhere, a function
    /// call), as its source text; rustc still checks it when the app is built.
    Expr(String),
}

/// `pub const AUTH`, as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthRule {
    /// `Auth::Public`.
    Public,
    /// `Auth::Required`.
    Required,
    /// `Auth::Role("…")`.
    Role(String),
}

/// Whether a handler takes a session extractor, read off its parameter types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionUse {
    /// No `Session` parameter.
    None,
    /// `Option<Session>`: signed-in visitors are told apart, anonymous ones served.
    Optional,
    /// `Session`: no valid session, no call (sign-in redirect or 401).
    Required,
    /// The handler is re-exported with `pub use`, so its parameters are elsewhere.
    Unknown,
}

/// One exported handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerDescription {
    /// Its method.
    pub method: Method,
    /// The line it is declared on.
    pub line: usize,
    /// Whether it takes `Session` or `Option<Session>`.
    pub session: SessionUse,
}

/// One route file, as `routekit routes` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDescription {
    /// The URL as the folders spell it: `/users/[id]`.
    pub url: String,
    /// The router patterns serving it: `/users/{id}`.
    pub patterns: Vec<String>,
    /// The route file, relative to the crate: `app/users/[id]/route.rs`.
    pub file: String,
    /// The exported handlers, sorted by method.
    pub handlers: Vec<HandlerDescription>,
    /// `pub const AUTH`, if declared (else the route is public).
    pub auth: Option<Declared<AuthRule>>,
    /// `pub const CSRF`, if declared (else mutations are checked).
    pub csrf: Option<Declared<bool>>,
    /// `pub const CAPTCHA`, if declared (else no captcha).
    pub captcha: Option<Declared<bool>>,
    /// `pub const BODY_LIMIT`, if declared (else the app-wide limit).
    pub body_limit: Option<Declared<u64>>,
}

/// Reads every route of the crate at `root` (its `app/` folder), with the same checks as the
/// build: a tree the build would refuse is refused here with the same diagnostics.
///
/// ```
/// use routekit_codegen::{AuthRule, Declared, SessionUse, describe};
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::create_dir_all(dir.path().join("app/admin")).unwrap();
/// std::fs::write(
///     dir.path().join("app/admin/route.rs"),
///     "pub const AUTH: Auth = Auth::Role(\"admin\");\n\
///      pub const BODY_LIMIT: usize = 16 * 1024;\n\
///      pub async fn POST(session: Session) {}",
/// )
/// .unwrap();
/// let routes = describe(dir.path()).unwrap();
/// assert_eq!(routes[0].url, "/admin");
/// assert_eq!(routes[0].auth, Some(Declared::Value(AuthRule::Role("admin".into()))));
/// assert_eq!(routes[0].body_limit, Some(Declared::Value(16384)));
/// assert_eq!(routes[0].handlers[0].session, SessionUse::Required);
/// ```
pub fn describe(root: &Path) -> Result<Vec<RouteDescription>, Error> {
    let app_dir = root.join("app");
    if !app_dir.is_dir() {
        return Err(Error::from_diagnostics(vec![
            Diagnostic::new("no app/ folder")
                .at(Location::file("app"))
                .help("run this in a routekit project: the folder with Cargo.toml and app/"),
        ]));
    }
    let files = scan(&app_dir, "app").map_err(Error::from_diagnostics)?;
    let plan = plan(files)?;
    let mut out = Vec::with_capacity(plan.routes.len());
    let mut diagnostics = Vec::new();
    for route in plan.routes {
        let path = &route.file.path;
        let source = match fs::read_to_string(root.join(path)) {
            Ok(source) => source,
            Err(e) => {
                diagnostics.push(
                    Diagnostic::new(format!("cannot read route file: {e}"))
                        .at(Location::file(path.clone())),
                );
                continue;
            }
        };
        match describe_source(&source, path) {
            Ok(mut description) => {
                description.url = route.url;
                description.patterns = route.patterns;
                out.push(description);
            }
            Err(d) => diagnostics.push(d),
        }
    }
    if diagnostics.is_empty() {
        Ok(out)
    } else {
        Err(Error::from_diagnostics(diagnostics))
    }
}

/// Reads one route file's handlers and settings (URL and patterns left empty).
///
/// ```
/// use routekit_codegen::{Declared, describe_source};
/// let d = describe_source("pub const CSRF: bool = false;\npub async fn POST() {}", "app/hook/route.rs").unwrap();
/// assert_eq!(d.csrf, Some(Declared::Value(false)));
/// assert_eq!(d.handlers[0].line, 2);
/// ```
pub fn describe_source(source: &str, path: &str) -> Result<RouteDescription, Diagnostic> {
    let file = syn::parse_file(source).map_err(|e| {
        Diagnostic::new(format!("cannot parse route file: {e}"))
            .at(Location::line(path, e.span().start().line))
    })?;
    let mut description = RouteDescription {
        url: String::new(),
        patterns: Vec::new(),
        file: path.to_owned(),
        handlers: Vec::new(),
        auth: None,
        csrf: None,
        captcha: None,
        body_limit: None,
    };
    for item in &file.items {
        match item {
            syn::Item::Fn(f) => {
                if let Some(method) = Method::ALL.into_iter().find(|m| f.sig.ident == m.as_str()) {
                    description.handlers.push(HandlerDescription {
                        method,
                        line: f.sig.ident.span().start().line,
                        session: session_use(&f.sig),
                    });
                }
            }
            syn::Item::Use(u) => {
                let mut names = Vec::new();
                use_names(&u.tree, &mut names);
                for ident in names {
                    if let Some(method) = Method::ALL.into_iter().find(|m| ident == m.as_str()) {
                        description.handlers.push(HandlerDescription {
                            method,
                            line: ident.span().start().line,
                            session: SessionUse::Unknown,
                        });
                    }
                }
            }
            syn::Item::Const(c) => {
                let expr = &*c.expr;
                match c.ident.to_string().as_str() {
                    "AUTH" => description.auth = Some(auth_rule(expr)),
                    "CSRF" => description.csrf = Some(boolean(expr)),
                    "CAPTCHA" => description.captcha = Some(boolean(expr)),
                    "BODY_LIMIT" => description.body_limit = Some(integer(expr)),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    description.handlers.sort_by_key(|h| h.method);
    Ok(description)
}

/// The strongest session use among the handler's parameters.
fn session_use(sig: &syn::Signature) -> SessionUse {
    let mut found = SessionUse::None;
    for input in &sig.inputs {
        let syn::FnArg::Typed(arg) = input else {
            continue;
        };
        match type_session_use(&arg.ty) {
            SessionUse::Required => return SessionUse::Required,
            SessionUse::Optional => found = SessionUse::Optional,
            SessionUse::None | SessionUse::Unknown => {}
        }
    }
    found
}

fn type_session_use(ty: &syn::Type) -> SessionUse {
    let syn::Type::Path(path) = ty else {
        return SessionUse::None;
    };
    let Some(last) = path.path.segments.last() else {
        return SessionUse::None;
    };
    if last.ident == "Session" {
        return SessionUse::Required;
    }
    if last.ident == "Option"
        && let syn::PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(syn::GenericArgument::Type(inner)) = args.args.first()
        && type_session_use(inner) == SessionUse::Required
    {
        return SessionUse::Optional;
    }
    SessionUse::None
}

fn boolean(expr: &syn::Expr) -> Declared<bool> {
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Bool(b),
            ..
        }) => Declared::Value(b.value),
        syn::Expr::Paren(p) => boolean(&p.expr),
        other => Declared::Expr(expr_text(other)),
    }
}

fn integer(expr: &syn::Expr) -> Declared<u64> {
    match eval_integer(expr) {
        Some(n) => Declared::Value(n),
        None => Declared::Expr(expr_text(expr)),
    }
}

/// Integer literals joined by `+ - * / << ( )`, as body limits are written; `None` for
/// anything else or an overflow.
fn eval_integer(expr: &syn::Expr) -> Option<u64> {
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => i.base10_parse().ok(),
        syn::Expr::Paren(p) => eval_integer(&p.expr),
        syn::Expr::Group(g) => eval_integer(&g.expr),
        syn::Expr::Binary(b) => {
            let (l, r) = (eval_integer(&b.left)?, eval_integer(&b.right)?);
            match b.op {
                syn::BinOp::Add(_) => l.checked_add(r),
                syn::BinOp::Sub(_) => l.checked_sub(r),
                syn::BinOp::Mul(_) => l.checked_mul(r),
                syn::BinOp::Div(_) => l.checked_div(r),
                syn::BinOp::Shl(_) => u32::try_from(r).ok().and_then(|r| l.checked_shl(r)),
                _ => None,
            }
        }
        _ => None,
    }
}

fn auth_rule(expr: &syn::Expr) -> Declared<AuthRule> {
    let last_ident = |path: &syn::Path| path.segments.last().map(|s| s.ident.to_string());
    match expr {
        syn::Expr::Path(p) => match last_ident(&p.path).as_deref() {
            Some("Public") => Declared::Value(AuthRule::Public),
            Some("Required") => Declared::Value(AuthRule::Required),
            _ => Declared::Expr(expr_text(expr)),
        },
        syn::Expr::Call(call) => match (&*call.func, call.args.first()) {
            (
                syn::Expr::Path(p),
                Some(syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(role),
                    ..
                })),
            ) if call.args.len() == 1 && last_ident(&p.path).as_deref() == Some("Role") => {
                Declared::Value(AuthRule::Role(role.value()))
            }
            _ => Declared::Expr(expr_text(expr)),
        },
        syn::Expr::Paren(p) => auth_rule(&p.expr),
        _ => Declared::Expr(expr_text(expr)),
    }
}

/// An expression's source text, as the file spells it.
fn expr_text(expr: &syn::Expr) -> String {
    expr.span()
        .source_text()
        .unwrap_or_else(|| "(an expression)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(source: &str) -> RouteDescription {
        describe_source(source, "app/route.rs").unwrap()
    }

    #[test]
    fn settings_are_evaluated_when_literal() {
        let d = one(
            "pub const AUTH: routekit::Auth = routekit::Auth::Required;\n\
                     pub const CSRF: bool = (false);\npub const CAPTCHA: bool = true;\n\
                     pub const BODY_LIMIT: usize = (1 << 20) + 2 * 512;\npub async fn GET() {}",
        );
        assert_eq!(d.auth, Some(Declared::Value(AuthRule::Required)));
        assert_eq!(d.csrf, Some(Declared::Value(false)));
        assert_eq!(d.captcha, Some(Declared::Value(true)));
        assert_eq!(d.body_limit, Some(Declared::Value((1 << 20) + 1024)));
    }

    #[test]
    fn other_expressions_come_back_as_text() {
        let d = one(
            "pub const AUTH: Auth = crate::ADMIN;\npub const BODY_LIMIT: usize = \
                     crate::LIMIT * 2;\npub const CSRF: bool = cfg!(test);\npub async fn GET() {}",
        );
        assert_eq!(d.auth, Some(Declared::Expr("crate::ADMIN".into())));
        assert_eq!(
            d.body_limit,
            Some(Declared::Expr("crate::LIMIT * 2".into()))
        );
        assert!(matches!(d.csrf, Some(Declared::Expr(_))));
        assert_eq!(
            one("pub const BODY_LIMIT: usize = u64::MAX as usize * 2;\npub async fn GET() {}")
                .body_limit,
            Some(Declared::Expr("u64::MAX as usize * 2".into()))
        );
    }

    #[test]
    fn session_parameters_are_found() {
        let d = one("pub async fn GET(s: Option<routekit::Session>) {}\n\
                     pub async fn POST(Json(x): Json<X>, s: Session) {}\n\
                     pub async fn PUT(SessionCookie(c): SessionCookie) {}\n\
                     pub use other::handler as DELETE;");
        let uses: Vec<_> = d.handlers.iter().map(|h| (h.method, h.session)).collect();
        assert_eq!(
            uses,
            [
                (Method::Delete, SessionUse::Unknown),
                (Method::Get, SessionUse::Optional),
                (Method::Post, SessionUse::Required),
                (Method::Put, SessionUse::None),
            ]
        );
    }
}
