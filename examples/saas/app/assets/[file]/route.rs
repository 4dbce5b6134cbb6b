//! `GET /assets/[file]`: the stylesheet and scripts, compiled into the binary (no bundler, no
//! CDN, nothing read from disk at run time). Unknown names are 404.

use routekit::axum::response::{IntoResponse, Response};
use routekit::http::header;
use routekit::{ApiError, Path};

const FILES: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", include_str!("../../../assets/app.css")),
    ("notes.js", "text/javascript; charset=utf-8", include_str!("../../../assets/notes.js")),
];

pub async fn GET(Path(file): Path<String>) -> Result<Response, ApiError> {
    let (_, kind, text) = FILES
        .iter()
        .find(|(name, ..)| *name == file)
        .ok_or_else(|| ApiError::not_found("no such asset"))?;
    Ok((
        [
            (header::CONTENT_TYPE, *kind),
            // Short-lived: a new build may change them under the same name.
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        *text,
    )
        .into_response())
}
