//! `routekit routes`: the route table as text, with warnings about routes that skip a
//! protection.

use std::fmt::Write;

use http::Method;

use crate::app::App;
use crate::route::RouteInfo;

impl App {
    /// The routes as a table (methods, URL, CSRF state, `AUTH` (`required`, `role:<name>` or
    /// `-`), `CAPTCHA`, file), followed by a warning for
    /// every mutating route exempt from CSRF checks, and for CSRF switched off altogether.
    ///
    /// The CSRF column says `checked`, `exempt`, `off` (switched off app-wide) or `-` (the
    /// route has no mutating method).
    ///
    /// ```
    /// use routekit::{App, Route, RouteTable};
    ///
    /// async fn h() {}
    /// let app = App::new(RouteTable::new(vec![
    ///     Route::new("/items", "app/items/route.rs", &["/items"]).get(h).post(h),
    ///     Route::new("/hook", "app/hook/route.rs", &["/hook"]).post(h).csrf(false),
    /// ]));
    /// let report = app.routes_report();
    /// assert!(report.contains("GET, POST  /items  checked  -     -        app/items/route.rs"));
    /// assert!(report.contains("warning: POST /hook is exempt from CSRF checks"));
    /// ```
    pub fn routes_report(&self) -> String {
        report(self.manifest(), self.csrf_enabled())
    }
}

fn is_mutating(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn report(manifest: &[RouteInfo], csrf_enabled: bool) -> String {
    let rows: Vec<[String; 6]> = manifest
        .iter()
        .map(|route| {
            let methods: Vec<&str> = route.methods.iter().map(Method::as_str).collect();
            let csrf = match (route.methods.iter().any(is_mutating), csrf_enabled) {
                (false, _) => "-",
                (true, false) => "off",
                (true, true) if route.settings.csrf => "checked",
                (true, true) => "exempt",
            };
            let auth = match route.settings.auth {
                crate::Auth::Required => "required".to_owned(),
                crate::Auth::Role(role) => format!("role:{role}"),
                _ => "-".to_owned(),
            };
            let captcha = match route.methods.iter().any(is_mutating) && route.settings.captcha {
                true => "required",
                false => "-",
            };
            [
                methods.join(", "),
                route.url.to_owned(),
                csrf.to_owned(),
                auth,
                captcha.to_owned(),
                route.file.to_owned(),
            ]
        })
        .collect();
    let header = ["METHODS", "URL", "CSRF", "AUTH", "CAPTCHA", "FILE"].map(str::to_owned);
    let mut widths = [0; 6];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(widths) {
            let _ = write!(line, "{cell:width$}  ");
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    if !csrf_enabled {
        out.push_str(
            "warning: CSRF protection is switched off for the whole app; any site can make a \
             signed-in browser send requests to it\n",
        );
        return out;
    }
    for route in manifest.iter().filter(|r| !r.settings.csrf) {
        let mutating: Vec<&str> = route
            .methods
            .iter()
            .filter(|m| is_mutating(m))
            .map(Method::as_str)
            .collect();
        if !mutating.is_empty() {
            let _ = writeln!(
                out,
                "warning: {} {} is exempt from CSRF checks (`pub const CSRF: bool = false;` in \
                 {}); it must authenticate its callers another way, such as a signature",
                mutating.join(", "),
                route.url,
                route.file,
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::{App, Route, RouteTable};

    async fn h() {}

    fn app() -> App {
        App::new(RouteTable::new(vec![
            Route::new("/", "app/route.rs", &["/"]).get(h),
            Route::new("/items", "app/items/route.rs", &["/items"])
                .get(h)
                .post(h)
                .captcha(true),
            Route::new("/hook", "app/hook/route.rs", &["/hook"])
                .post(h)
                .csrf(false),
            Route::new("/feed", "app/feed/route.rs", &["/feed"])
                .get(h)
                .csrf(false),
            Route::new("/account", "app/account/route.rs", &["/account"])
                .get(h)
                .auth(crate::Auth::Required),
            Route::new("/admin", "app/admin/route.rs", &["/admin"])
                .get(h)
                .auth(crate::Auth::Role("super-admin")),
        ]))
    }

    #[test]
    fn the_table_lists_csrf_state_per_route() {
        let report = app().csrf(true).routes_report();
        let expected = "\
METHODS    URL       CSRF     AUTH              CAPTCHA   FILE
GET        /         -        -                 -         app/route.rs
GET, POST  /items    checked  -                 required  app/items/route.rs
POST       /hook     exempt   -                 -         app/hook/route.rs
GET        /feed     -        -                 -         app/feed/route.rs
GET        /account  -        required          -         app/account/route.rs
GET        /admin    -        role:super-admin  -         app/admin/route.rs
warning: POST /hook is exempt from CSRF checks (`pub const CSRF: bool = false;` in \
app/hook/route.rs); it must authenticate its callers another way, such as a signature
";
        assert_eq!(report, expected);
    }

    #[test]
    fn switching_csrf_off_is_one_warning() {
        let report = app().csrf(false).routes_report();
        assert!(report.contains("GET, POST  /items    off"));
        assert!(report.contains("warning: CSRF protection is switched off for the whole app"));
        assert!(!report.contains("/hook is exempt"));
    }
}
