//! `/admin`: the super admin's page, the users newest first with ban and sign-out-everywhere.
//! `AUTH = Role("super-admin")`: anyone else gets the 404 page an unknown URL gets.

use routekit::axum::response::Html;
use routekit::{ApiResult, Auth, AuthApi, CsrfToken, Query, Session};
use serde::Deserialize;

use routekit::escape_html;
use crate::pages::{Viewer, layout, notice};

pub const AUTH: Auth = Auth::Role("super-admin");

#[derive(Deserialize)]
pub struct Params {
    page: Option<u64>,
    notice: Option<String>,
}

pub async fn GET(
    session: Session,
    AuthApi(auth, _): AuthApi,
    token: CsrfToken,
    Query(params): Query<Params>,
) -> ApiResult<Html<String>> {
    let viewer = Viewer::new(Some(&session), token.as_str());
    let page = params.page.unwrap_or(1).max(1);
    let list = auth.admin().list_users(page, 50).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let rows: String = list
        .users
        .iter()
        .map(|user| {
            let banned = user.is_banned(now);
            let role = user
                .app_metadata()
                .get("role")
                .and_then(|r| r.as_str())
                .unwrap_or("")
                .to_owned();
            let actions = if user.id == session.user_id {
                r#"<span class="muted">you</span>"#.to_owned()
            } else {
                let ban = if banned {
                    ("unban", "Lift ban", "secondary")
                } else {
                    ("ban", "Ban 24 h", "danger")
                };
                format!(
                    r#"<form method="post" action="/admin/users/{id}" class="row">{csrf}<button class="{class}" name="action" value="{value}">{label}</button><button class="secondary" name="action" value="sign-out">Sign out everywhere</button></form>"#,
                    id = escape_html(&user.id),
                    csrf = viewer.csrf_field(),
                    value = ban.0,
                    label = ban.1,
                    class = ban.2,
                )
            };
            format!(
                r#"<tr data-email="{email}"><td>{email}</td><td>{role}</td><td>{confirmed}</td><td class="status">{status}</td><td>{actions}</td></tr>"#,
                email = escape_html(&user.email),
                role = escape_html(&role),
                confirmed = if user.email_confirmed_at.is_some() { "yes" } else { "no" },
                status = if banned { "banned" } else { "active" },
            )
        })
        .collect();
    let notice = match params.notice.as_deref() {
        Some("ban") => notice("The user is banned for 24 hours and signed out."),
        Some("unban") => notice("The ban was lifted."),
        Some("sign-out") => notice("Every session of the user has ended."),
        _ => String::new(),
    };
    let more = match list.next_page() {
        Some(next) => format!(r#"<p><a href="/admin?page={next}">Next page</a></p>"#),
        None => String::new(),
    };
    let body = format!(
        r#"{notice}<p class="muted">{total} users.</p><div class="card"><table id="users"><tr><th>E-mail</th><th>Role</th><th>Confirmed</th><th>Status</th><th></th></tr>{rows}</table></div>{more}"#,
        total = list.total,
    );
    Ok(layout(&viewer, "Users", &body, false))
}
