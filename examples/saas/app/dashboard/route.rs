//! `/dashboard`: the signed-in user's notes. The list is rendered on the server; creating,
//! editing and deleting go through `/api/notes` from `/assets/notes.js`, which sends the
//! page's CSRF token (`<meta name="csrf-token">`, which routekit adds) as `X-CSRF-Token`.

use routekit::axum::response::Html;
use routekit::{ApiResult, Auth, CsrfToken, Db, Query, Session};
use serde::Deserialize;

use routekit::escape_html;
use crate::notes::{Note, Notes};
use crate::pages::{Viewer, layout, notice};

pub const AUTH: Auth = Auth::Required;

#[derive(Deserialize)]
pub struct Params {
    notice: Option<String>,
}

/// One note as the list shows it (`notes.js` builds the same markup for new ones).
fn item(note: &Note) -> String {
    format!(
        r#"<li data-id="{id}"><h3>{title}</h3><p>{body}</p><div class="row"><button class="secondary" data-action="edit">Edit</button><button class="danger" data-action="delete">Delete</button></div></li>"#,
        id = escape_html(&note.id),
        title = escape_html(&note.title),
        body = escape_html(&note.body),
    )
}

pub async fn GET(
    session: Session,
    db: Db,
    token: CsrfToken,
    Query(params): Query<Params>,
) -> ApiResult<Html<String>> {
    let notes = Notes::of(&db, &session.user_id).list().await?;
    let items: String = notes.iter().map(item).collect();
    let notice = match params.notice.as_deref() {
        Some("password") => notice("Your password was changed."),
        _ => String::new(),
    };
    let body = format!(
        r#"{notice}<form class="card" id="new-note">
<label>Title <input name="title" maxlength="200" required></label>
<label>Note <textarea name="body" maxlength="10000"></textarea></label>
<p class="field-error" id="new-note-error" role="alert" hidden></p>
<button type="submit">Add note</button>
</form>
<p class="muted" id="empty"{empty}>No notes yet: add your first one above.</p>
<ul class="notes" id="notes">{items}</ul>
<script src="/assets/notes.js" defer></script>"#,
        empty = if notes.is_empty() { "" } else { " hidden" },
    );
    let viewer = Viewer::new(Some(&session), token.as_str());
    Ok(layout(&viewer, "Your notes", &body, false))
}
