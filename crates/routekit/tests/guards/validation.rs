//! `Valid<Json<T>>`, `Valid<Form<T>>` and `Valid<Query<T>>`: every failure is 422
//! `validation_failed` with every failing field listed, in one path notation, without the
//! submitted value; the handler runs only with valid input.

use routekit::validator::Validate;
use routekit::{App, Form, Json, Query, Route, RouteTable, Valid};
use routekit_test::{Calls, TestServer};
use serde::Deserialize;
use serde_json::{Value, json};

/// Something a password could be: it must appear in no answer.
const SECRET: &str = "hunter2-Secret-9";

#[derive(Deserialize, Validate)]
#[validate(crate = "routekit::validator")]
#[serde(deny_unknown_fields)]
struct Order {
    #[validate(length(min = 3, max = 40))]
    name: String,
    #[validate(email)]
    email: String,
    #[validate(length(min = 12))]
    password: String,
    #[validate(must_match(other = "password"))]
    confirm: String,
    #[validate(nested)]
    address: Address,
    #[validate(length(max = 3), nested)]
    lines: Vec<Line>,
}

#[derive(Deserialize, Validate)]
#[validate(crate = "routekit::validator")]
struct Address {
    #[validate(length(min = 1))]
    city: String,
    #[validate(length(equal = 2))]
    country: String,
}

/// `Serialize` because `validator` records a failing list's value (never answered).
#[derive(Deserialize, serde::Serialize, Validate)]
#[validate(crate = "routekit::validator")]
struct Line {
    #[validate(length(min = 1))]
    sku: String,
    #[validate(range(min = 1, max = 99))]
    qty: u32,
}

#[derive(Deserialize, Validate)]
#[validate(crate = "routekit::validator")]
struct Entry {
    #[validate(length(min = 1, max = 280))]
    message: String,
    #[validate(range(min = 1, max = 5))]
    stars: u8,
}

#[derive(Deserialize, Validate)]
#[validate(crate = "routekit::validator")]
struct Search {
    #[validate(length(min = 2))]
    q: String,
    #[validate(range(min = 1, max = 100))]
    per_page: Option<u32>,
}

fn good_order() -> Value {
    json!({
        "name": "Ada",
        "email": "ada@example.com",
        "password": SECRET,
        "confirm": SECRET,
        "address": { "city": "London", "country": "GB" },
        "lines": [{ "sku": "A1", "qty": 2 }],
    })
}

async fn spawn(calls: &Calls) -> TestServer {
    let counted = |calls: &Calls| {
        let calls = calls.clone();
        move || calls.hit()
    };
    let (hit_order, hit_entry, hit_search) = (counted(calls), counted(calls), counted(calls));
    let routes = RouteTable::new(vec![
        Route::new("/orders", "app/orders/route.rs", &["/orders"]).post(
            move |Valid(Json(order)): Valid<Json<Order>>| async move {
                hit_order();
                Json(json!({ "name": order_name(&order), "lines": order.lines.len() }))
            },
        ),
        Route::new("/entries", "app/entries/route.rs", &["/entries"]).post(
            move |Valid(Form(e)): Valid<Form<Entry>>| async move {
                hit_entry();
                Json(json!({ "message": e.message, "stars": e.stars }))
            },
        ),
        Route::new("/search", "app/search/route.rs", &["/search"]).get(
            move |Valid(Query(s)): Valid<Query<Search>>| async move {
                hit_search();
                Json(json!({ "q": s.q, "per_page": s.per_page }))
            },
        ),
    ]);
    TestServer::spawn(App::new(routes).csrf(false).into_service()).await
}

fn order_name(order: &Order) -> &str {
    // The fields the handler does not answer with are still read, as a handler would.
    let _ = (
        &order.email,
        &order.password,
        &order.confirm,
        &order.address,
    );
    &order.name
}

/// The 422 answer's fields as `(path, code)`, after checking the envelope and that no
/// field echoes the secret.
async fn refused(res: reqwest::Response) -> Vec<(String, String)> {
    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["content-type"], "application/json");
    let text = res.text().await.unwrap();
    assert!(
        !text.contains(SECRET),
        "the answer echoes the value: {text}"
    );
    assert!(
        !text.contains("hunter2"),
        "the answer echoes the value: {text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"]["code"], "validation_failed", "{body}");
    body["error"]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("no fields: {body}"))
        .iter()
        .map(|f| {
            assert!(f["message"].as_str().is_some_and(|m| !m.is_empty()), "{f}");
            (
                f["path"].as_str().unwrap().to_owned(),
                f["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(p, c)| ((*p).to_owned(), (*c).to_owned()))
        .collect()
}

#[tokio::test]
async fn valid_input_reaches_the_handler() {
    let calls = Calls::default();
    let server = spawn(&calls).await;
    let res = server
        .post("/orders")
        .json(&good_order())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "name": "Ada", "lines": 1 })
    );
    let res = server
        .post("/entries")
        .form(&[("message", "hello"), ("stars", "5")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = server
        .get("/search?q=rust&per_page=20")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "q": "rust", "per_page": 20 })
    );
    assert_eq!(calls.get(), 3);
}

#[tokio::test]
async fn every_failing_field_is_listed_at_once_nested_and_in_lists() {
    let calls = Calls::default();
    let server = spawn(&calls).await;
    let mut order = good_order();
    order["name"] = json!("Al");
    order["email"] = json!(SECRET);
    order["confirm"] = json!(format!("{SECRET}x"));
    order["address"] = json!({ "city": "", "country": "GBR" });
    order["lines"] = json!([
        { "sku": "A1", "qty": 2 },
        { "sku": "", "qty": 100 },
        { "sku": "C3", "qty": 0 },
    ]);
    let res = server.post("/orders").json(&order).send().await.unwrap();
    assert_eq!(
        refused(res).await,
        pairs(&[
            ("address.city", "length"),
            ("address.country", "length"),
            ("confirm", "must_match"),
            ("email", "email"),
            ("lines[1].qty", "range"),
            ("lines[1].sku", "length"),
            ("lines[2].qty", "range"),
            ("name", "length"),
        ])
    );
    // `validator` keeps a list's own rule and its items' apart: too many lines is one error.
    let mut order = good_order();
    order["lines"] = Value::Array(vec![json!({ "sku": "A", "qty": 1 }); 4]);
    let res = server.post("/orders").json(&order).send().await.unwrap();
    assert_eq!(refused(res).await, pairs(&[("lines", "length")]));
    // A short password, alone: one field, and the message names it.
    let mut order = good_order();
    order["password"] = json!("hunter2");
    order["confirm"] = json!("hunter2");
    let res = server.post("/orders").json(&order).send().await.unwrap();
    let text = res.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    assert_eq!(
        body["error"],
        json!({
            "code": "validation_failed",
            "message": "`password`: must have a length of at least 12",
            "fields": [{ "path": "password", "code": "length", "message": "must have a length of at least 12" }],
        })
    );
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn serde_errors_are_field_errors_too() {
    let calls = Calls::default();
    let server = spawn(&calls).await;
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut order = good_order();
        edit(&mut order);
        order
    };
    let cases = [
        (
            with(&|o| {
                o.as_object_mut().unwrap().remove("email");
            }),
            ("email", "required"),
        ),
        (
            with(&|o| o["address"].as_object_mut().unwrap().clear()),
            ("address.city", "required"),
        ),
        (
            with(&|o| o["lines"][0]["qty"] = json!(SECRET)),
            ("lines[0].qty", "invalid_type"),
        ),
        (
            with(&|o| o["lines"][0]["qty"] = json!(-1)),
            ("lines[0].qty", "invalid_value"),
        ),
        (
            with(&|o| o["password"] = json!(12)),
            ("password", "invalid_type"),
        ),
        (with(&|o| o[SECRET] = json!(1)), (SECRET, "unknown_field")),
        (json!(SECRET), ("", "invalid_type")),
    ];
    for (body, expected) in cases {
        let res = server.post("/orders").json(&body).send().await.unwrap();
        let text = res.text().await.unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["error"]["code"], "validation_failed", "{text}");
        let fields = value["error"]["fields"].as_array().unwrap();
        assert_eq!(fields.len(), 1, "{text}");
        assert_eq!(
            (&fields[0]["path"], &fields[0]["code"]),
            (&json!(expected.0), &json!(expected.1)),
            "{text}"
        );
        // The unknown field's name is its path; no value is ever repeated.
        if expected.1 != "unknown_field" {
            assert!(!text.contains(SECRET), "{text}");
        }
    }
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn a_json_syntax_error_stays_400_invalid_json() {
    let calls = Calls::default();
    let server = spawn(&calls).await;
    for body in [
        format!(r#"{{"name":"{SECRET}","#),
        format!(r#"{{"name":{SECRET}}}"#),
        // A type mismatch before the syntax error is still the syntax error.
        format!(r#"{{"lines":"{SECRET}", oops}}"#),
    ] {
        let res = server
            .post("/orders")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let text = res.text().await.unwrap();
        assert!(text.contains(r#""code":"invalid_json""#), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn form_input_is_validated_with_the_same_paths() {
    let calls = Calls::default();
    let server = spawn(&calls).await;
    let res = server
        .post("/entries")
        .form(&[("message", ""), ("stars", "9")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused(res).await,
        pairs(&[("message", "length"), ("stars", "range")])
    );
    let res = server
        .post("/entries")
        .form(&[("message", "hi"), ("stars", SECRET)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused(res).await, pairs(&[("stars", "invalid_value")]));
    let res = server
        .post("/entries")
        .form(&[("stars", "3")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused(res).await, pairs(&[("message", "required")]));
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn query_input_is_validated_with_the_same_paths() {
    let calls = Calls::default();
    let server = spawn(&calls).await;
    let res = server.get("/search?q=a&per_page=0").send().await.unwrap();
    assert_eq!(
        refused(res).await,
        pairs(&[("per_page", "range"), ("q", "length")])
    );
    let res = server
        .get(&format!("/search?q=ab&per_page={SECRET}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused(res).await, pairs(&[("per_page", "invalid_value")]));
    let res = server.get("/search").send().await.unwrap();
    assert_eq!(refused(res).await, pairs(&[("q", "required")]));
    assert_eq!(calls.get(), 0);
}
