//! Never routed: `_internal` is a private folder, so `/api/_internal` is a 404.

pub async fn GET() -> &'static str {
    "unreachable over HTTP"
}
