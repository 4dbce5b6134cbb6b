//! `/guestbook`: a server-rendered page showing both ways a page sends its CSRF token:
//! - a `<form>` with a hidden `csrf_token` field, filled in from the `CsrfToken` extractor;
//! - a `fetch` call that reads `<meta name="csrf-token">` (which routekit inserts into every
//!   HTML page) and sends it as `X-CSRF-Token`.

mod store;

use routekit::axum::response::Html;
use routekit::{CsrfToken, Form, Redirect, Valid};
use serde::Deserialize;
use validator::Validate;

use routekit::escape_html;

const PAGE: &str = include_str!("page.html");

pub async fn GET(token: CsrfToken) -> Html<String> {
    let entries: String = store::all()
        .iter()
        .map(|m| format!("<li>{}</li>", escape_html(m)))
        .collect();
    Html(
        PAGE.replace("{{csrf_token}}", token.as_str())
            .replace("{{entries}}", &entries),
    )
}

#[derive(Deserialize, Validate)]
pub struct NewEntry {
    #[validate(length(max = 280), custom(function = "crate::validate::not_blank"))]
    message: String,
}

/// The form posts here; after storing the entry the browser is sent back to the page (303,
/// so a reload does not post twice).
pub async fn POST(Valid(Form(entry)): Valid<Form<NewEntry>>) -> Redirect {
    store::add(entry.message.trim().to_owned());
    Redirect::see_other("/guestbook")
}
