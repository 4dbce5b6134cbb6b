//! `routekit routes`: every column, as text and as JSON, read without building the project.

use serde_json::json;

use crate::{routekit, stderr, stdout, write_files};

const FILES: &[(&str, &str)] = &[
    (
        "app/route.rs",
        "pub async fn GET(viewer: Option<Session>) {}\n",
    ),
    (
        "app/account/route.rs",
        "pub const AUTH: routekit::Auth = routekit::Auth::Required;\npub async fn GET() {}\npub async fn POST() {}\n",
    ),
    (
        "app/admin/[id]/route.rs",
        "use routekit::Auth;\npub const AUTH: Auth = Auth::Role(\"super-admin\");\npub async fn DELETE() {}\n",
    ),
    (
        "app/api/notes/route.rs",
        "pub const BODY_LIMIT: usize = 64 * 1024;\npub async fn GET(s: Session) {}\npub async fn POST(s: routekit::Session, db: Db) {}\n",
    ),
    (
        "app/api/hook/route.rs",
        "pub const CSRF: bool = false;\npub const BODY_LIMIT: usize = crate::HOOK_LIMIT;\npub async fn POST() {}\n",
    ),
    (
        "app/(forms)/contact/route.rs",
        "pub const CAPTCHA: bool = true;\npub async fn GET() {}\npub async fn PUT() {}\n",
    ),
    ("app/_private/helpers.rs", "pub fn not_a_route() {}\n"),
    ("src/main.rs", "fn main() {}\n"),
];

#[test]
fn the_table_has_a_row_per_method_with_every_column() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), FILES);
    let output = routekit(dir.path(), &["routes"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let expected = "\
METHOD  URL          AUTH              CSRF     CAPTCHA   BODY LIMIT         FILE
GET     /            optional          -        -         default            app/route.rs:1
GET     /account     required          -        -         default            app/account/route.rs:2
POST    /account     required          checked  -         default            app/account/route.rs:3
DELETE  /admin/[id]  role:super-admin  checked  -         default            app/admin/[id]/route.rs:3
POST    /api/hook    -                 exempt   -         crate::HOOK_LIMIT  app/api/hook/route.rs:3
GET     /api/notes   session           -        -         64 KiB             app/api/notes/route.rs:2
POST    /api/notes   session           checked  -         64 KiB             app/api/notes/route.rs:3
GET     /contact     -                 -        -         default            app/(forms)/contact/route.rs:2
PUT     /contact     -                 checked  required  default            app/(forms)/contact/route.rs:3
warning: POST /api/hook is exempt from CSRF checks (`pub const CSRF: bool = false;` in app/api/hook/route.rs); it must authenticate its callers another way, such as a signature
";
    assert_eq!(stdout(&output), expected);
}

#[test]
fn json_carries_the_same_columns_for_tools() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), FILES);
    let output = routekit(dir.path(), &["routes", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let routes = report["routes"].as_array().unwrap();
    assert_eq!(routes.len(), 9);
    let find = |method: &str, url: &str| {
        routes
            .iter()
            .find(|r| r["method"] == method && r["url"] == url)
            .unwrap_or_else(|| panic!("{method} {url}"))
            .clone()
    };
    assert_eq!(
        find("DELETE", "/admin/[id]"),
        json!({
            "method": "DELETE", "url": "/admin/[id]", "patterns": ["/admin/{id}"],
            "file": "app/admin/[id]/route.rs", "line": 3,
            "auth": {"requirement": "role", "role": "super-admin", "expr": null},
            "csrf": "checked", "captcha": false, "body_limit": null,
        })
    );
    let hook = find("POST", "/api/hook");
    assert_eq!(hook["csrf"], "exempt");
    assert_eq!(hook["body_limit"], json!({"expr": "crate::HOOK_LIMIT"}));
    let notes = find("GET", "/api/notes");
    assert_eq!(notes["auth"]["requirement"], "session");
    assert_eq!(notes["body_limit"], 65536);
    assert_eq!(notes["csrf"], "not_mutating");
    assert_eq!(notes["captcha"], json!(null));
    assert_eq!(find("PUT", "/contact")["captcha"], true);
    assert_eq!(find("GET", "/")["auth"]["requirement"], "optional");
    assert_eq!(find("GET", "/account")["auth"]["requirement"], "required");
    assert_eq!(report["warnings"].as_array().unwrap().len(), 1);
}

#[test]
fn csrf_switched_off_in_src_turns_every_mutation_off_with_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), FILES);
    write_files(
        dir.path(),
        &[(
            "src/main.rs",
            "fn main() {\n    // not this: .csrf(false)\n    let app = App::new(routes())\n        .csrf( false );\n}\n",
        )],
    );
    let output = routekit(dir.path(), &["routes"]);
    let text = stdout(&output);
    let csrf_of = |method: &str, url: &str| {
        text.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|cells| cells.len() > 3 && cells[0] == method && cells[1] == url)
            .map(|cells| cells[3].to_owned())
    };
    assert_eq!(
        csrf_of("POST", "/account").as_deref(),
        Some("off"),
        "{text}"
    );
    assert_eq!(
        csrf_of("POST", "/api/hook").as_deref(),
        Some("off"),
        "{text}"
    );
    assert_eq!(csrf_of("GET", "/account").as_deref(), Some("-"), "{text}");
    let warnings: Vec<&str> = text.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(
        warnings,
        [
            "warning: CSRF protection is switched off for the whole app (`.csrf(false)` at src/main.rs:4); any site can make a signed-in browser send requests to it"
        ]
    );
}

#[test]
fn a_tree_the_build_refuses_is_refused_with_the_same_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("app/(a)/about/route.rs", "pub async fn GET() {}"),
            ("app/(b)/about/route.rs", "pub async fn GET() {}"),
        ],
    );
    let output = routekit(dir.path(), &["routes"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.starts_with("error: two route files serve the URL /about"),
        "{err}"
    );
    assert!(err.contains("app/(a)/about/route.rs") && err.contains("app/(b)/about/route.rs"));

    let empty = tempfile::tempdir().unwrap();
    let output = routekit(empty.path(), &["routes", "--json"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).starts_with("error: no app/ folder"));
    assert!(output.stdout.is_empty());
}

#[test]
fn the_example_app_is_listed_with_its_roles_and_its_webhook_warning() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/saas");
    let output = routekit(&example, &["routes"]);
    let text = stdout(&output);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        text.contains("GET     /admin                  role:super-admin"),
        "{text}"
    );
    assert!(text.contains("warning: POST /api/webhooks/payments is exempt from CSRF checks"));
}
