//! `/`: a page that says what the API serves.

use routekit::axum::response::Html;

pub async fn GET() -> Html<&'static str> {
    Html(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>API</title></head>\
         <body><h1>It works</h1><ul><li><code>GET /api/health</code>: public</li>\
         <li><code>GET /api/items</code>, <code>POST /api/items</code>: \
         <code>Authorization: Bearer $API_KEY</code></li></ul></body></html>",
    )
}
