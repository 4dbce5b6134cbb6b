//! `GET /`: the landing page: what the app is, and the way in.

use routekit::axum::response::Html;
use routekit::{CsrfToken, Session};

use crate::pages::{Viewer, layout};

pub async fn GET(session: Option<Session>, token: CsrfToken) -> Html<String> {
    let viewer = Viewer::new(session.as_ref(), token.as_str());
    let call = if session.is_some() {
        r#"<a class="button" href="/dashboard">Open your notes</a>"#
    } else {
        r#"<a class="button" href="/auth/sign-up">Create a free account</a> <a href="/auth/sign-in">or sign in</a>"#
    };
    let body = format!(
        r#"<section class="hero"><p class="muted">The routekit example app</p>
<p>Private notes behind a real sign-in: e-mail confirmation, magic links, password reset, two-factor authentication and an admin page, served by one Rust binary.</p>
<p>{call}</p></section>
<section class="features">
<div class="card"><h2>Routes are files</h2><p>Every page and API here is a <code>route.rs</code> under <code>app/</code>.</p></div>
<div class="card"><h2>Secure by default</h2><p>Sessions, CSRF tokens on every form and fetch, rate limits and lockouts.</p></div>
<div class="card"><h2>Speaks Supabase</h2><p><code>@supabase/supabase-js</code> signs in against <code>/auth/v1</code> unchanged.</p></div>
</section>"#
    );
    layout(&viewer, "Notes you keep to yourself", &body, false)
}
