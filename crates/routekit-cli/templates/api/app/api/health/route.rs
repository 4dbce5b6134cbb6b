//! `/api/health`: public, for load balancers and uptime checks.

use routekit::Json;
use serde_json::{Value, json};

pub async fn GET() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
