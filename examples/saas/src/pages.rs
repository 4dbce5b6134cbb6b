//! What the server-rendered pages share: the layout (navigation, stylesheet, sign-out form),
//! safe `next` targets, redirects that carry cookies, and the error pages.

use routekit::axum::response::{Html, IntoResponse, Response};
use routekit::http::{HeaderValue, StatusCode, header};
use routekit::{ErrorPage, Session};

use routekit::escape_html;

/// The role that opens the admin pages (`app/admin`, `app/api/admin`).
pub(crate) const ADMIN_ROLE: &str = "super-admin";

/// The query of the auth pages: where to go afterwards, and whether the last try failed.
#[derive(serde::Deserialize)]
pub(crate) struct PageParams {
    pub(crate) next: Option<String>,
    pub(crate) error: Option<String>,
}

/// Who the page is for: the signed-in user (if any) and the CSRF token for its forms.
pub(crate) struct Viewer<'a> {
    pub(crate) session: Option<&'a Session>,
    pub(crate) csrf: &'a str,
}

impl<'a> Viewer<'a> {
    pub(crate) fn new(session: Option<&'a Session>, csrf: &'a str) -> Self {
        Viewer { session, csrf }
    }

    /// A visitor: no session, no forms in the navigation.
    pub(crate) fn anonymous() -> Viewer<'static> {
        Viewer {
            session: None,
            csrf: "",
        }
    }

    /// The hidden field every form of the page carries.
    pub(crate) fn csrf_field(&self) -> String {
        format!(
            r#"<input type="hidden" name="csrf_token" value="{}">"#,
            escape_html(self.csrf)
        )
    }
}

/// The navigation: the product, then the signed-in user's pages and sign-out, or sign-in
/// and sign-up.
fn nav(viewer: &Viewer<'_>) -> String {
    let mut links = String::from(r#"<a class="brand" href="/">routekit notes</a>"#);
    match viewer.session {
        Some(session) => {
            links.push_str(r#"<a href="/dashboard">Dashboard</a><a href="/account">Account</a>"#);
            if session.role.as_deref() == Some(ADMIN_ROLE) {
                links.push_str(r#"<a href="/admin">Admin</a>"#);
            }
            links.push_str(&format!(
                r#"<span class="muted">{}</span><form method="post" action="/auth/sign-out">{}<button class="secondary" type="submit">Sign out</button></form>"#,
                escape_html(&session.email),
                viewer.csrf_field()
            ));
        }
        None if viewer.csrf.is_empty() => {
            links.push_str(r#"<a href="/dashboard">Dashboard</a>"#);
        }
        None => {
            links.push_str(
                r#"<a href="/auth/sign-in">Sign in</a><a class="button" href="/auth/sign-up">Sign up</a>"#,
            );
        }
    }
    links
}

/// A page of the app: `title`, the navigation for `viewer`, and `body` (HTML, escaped by
/// the caller) in the main column; `narrow` for forms.
pub(crate) fn layout(viewer: &Viewer<'_>, title: &str, body: &str, narrow: bool) -> Html<String> {
    Html(format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title} · routekit notes</title>\n<link rel=\"stylesheet\" href=\"/assets/app.css\">\n</head>\n<body>\n<header class=\"top\"><nav>{nav}</nav></header>\n<main{class}>\n<h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        title = escape_html(title),
        nav = nav(viewer),
        class = if narrow { " class=\"narrow\"" } else { "" },
    ))
}

/// A form page in the narrow column (sign-in, sign-up, …).
pub(crate) fn page(viewer: &Viewer<'_>, title: &str, body: &str) -> Html<String> {
    layout(viewer, title, body, true)
}

/// `<p role="alert">` with `text`, for a failed try.
pub(crate) fn alert(text: &str) -> String {
    format!(
        r#"<p class="alert" role="alert" id="error">{}</p>"#,
        escape_html(text)
    )
}

/// `<p role="status">` with `text`, for a done change.
pub(crate) fn notice(text: &str) -> String {
    format!(
        r#"<p class="notice" role="status" id="notice">{}</p>"#,
        escape_html(text)
    )
}

/// The app's error pages ([`routekit::App::error_pages`]): what a browser sees for an unknown
/// URL, a refused form, a body too large or a server error, in the app's layout.
pub(crate) fn error_page(error: &ErrorPage) -> Html<String> {
    let (title, text) = match error.status.as_u16() {
        404 => (
            "Page not found",
            "There is no page at this address. It may have moved, or the link may be wrong.",
        ),
        403 if error.code.starts_with("csrf") => (
            "This form has expired",
            "The page was open too long, or the form came from another site. Go back, reload the page and try again.",
        ),
        403 => ("Not allowed", "You cannot open this page."),
        405 => (
            "Not allowed here",
            "This address does not take that kind of request.",
        ),
        413 => (
            "Too large",
            "What you sent is larger than this page accepts.",
        ),
        422 => ("Please check your input", "Some fields are not valid:"),
        429 => ("Slow down", "Too many tries. Wait a moment and try again."),
        503 => (
            "Temporarily unavailable",
            "The service is busy or down for a moment. Try again shortly.",
        ),
        _ => (
            "Something went wrong",
            "The server could not answer. Try again; if it keeps happening, tell us.",
        ),
    };
    let fields: String = error
        .fields
        .iter()
        .map(|f| {
            let name = if f.path().is_empty() {
                "input"
            } else {
                f.path()
            };
            format!(
                "<li><strong>{}</strong>: {}</li>",
                escape_html(name),
                escape_html(f.message())
            )
        })
        .collect();
    let fields = if fields.is_empty() {
        // A client error's message is written for the user (a server error's says nothing).
        if error.status.is_client_error() && error.status != StatusCode::NOT_FOUND {
            format!("<p>{}</p>", escape_html(&error.message))
        } else {
            String::new()
        }
    } else {
        format!("<ul>{fields}</ul>")
    };
    let body = format!(
        r#"<div class="card" data-status="{status}" data-code="{code}"><p>{text}</p>{fields}<p class="muted">Error {status} · <code>{code}</code></p><p><a class="button" href="/">Home</a> <a href="/dashboard">Dashboard</a></p></div>"#,
        status = error.status.as_u16(),
        code = escape_html(&error.code),
        text = escape_html(text),
    );
    layout(&Viewer::anonymous(), title, &body, true)
}

/// `next` if it is a path on this site (`routekit::is_local_path`), else `/dashboard`: never
/// an open redirect.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| routekit::is_local_path(n))
        .unwrap_or("/dashboard")
        .to_owned()
}

/// 303 to `location` with the given `Set-Cookie` values and `Cache-Control: no-store`.
pub(crate) fn redirect_with_cookies(location: &str, cookies: Vec<String>) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    let headers = res.headers_mut();
    if let Ok(location) = HeaderValue::try_from(location) {
        headers.insert(header::LOCATION, location);
    }
    for cookie in cookies {
        if let Ok(cookie) = HeaderValue::try_from(cookie) {
            headers.append(header::SET_COOKIE, cookie);
        }
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `/auth/sign-in?error=…&next=…` style URLs.
pub(crate) fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let query = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    format!("{path}?{query}")
}

/// The "check your inbox" page after a mail was asked for: `text` (HTML, escaped by the
/// caller), then how the link works; the response keeps the link's PKCE verifier
/// (`verifier_cookie`, from [`crate::mail_flow::start`]).
pub(crate) fn check_inbox(viewer: &Viewer<'_>, text: &str, verifier_cookie: &str) -> Response {
    let body = format!(
        r#"<div class="card" id="check-inbox"><p>{text}</p><p>Open it in this browser. It works once, for an hour.</p></div>"#
    );
    let mut res = page(viewer, "Check your inbox", &body).into_response();
    set_cookie(&mut res, verifier_cookie);
    res
}

/// Adds a `Set-Cookie` to `res`.
pub(crate) fn set_cookie(res: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::try_from(cookie) {
        res.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// What a form page shows for a refusal of the auth service: its message for the user's
/// own mistakes (4xx: a wrong password, a weak one, too many tries), `None` for the server's
/// (which become the error page).
pub(crate) fn refusal(e: &routekit::auth::AuthError) -> Option<String> {
    e.status().is_client_error().then(|| e.to_string())
}

/// `page` answered with `status` (a form shown again after a refusal).
pub(crate) fn with_status(page: Html<String>, status: StatusCode) -> Response {
    let mut res = page.into_response();
    *res.status_mut() = status;
    res
}
