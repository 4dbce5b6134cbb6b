//! HEAD, OPTIONS and 405 with `Allow`.

use crate::helpers::{assert_error, spawn};

#[tokio::test]
async fn head_is_answered_from_get_without_a_body() {
    let server = spawn().await;
    let get = server.get("/users/7").send().await.unwrap();
    let get_len = get.headers()["content-length"].clone();
    let get_type = get.headers()["content-type"].clone();
    let body_len = get.bytes().await.unwrap().len();
    let head = server.request("HEAD", "/users/7").send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], get_len);
    assert_eq!(
        head.headers()["content-length"].to_str().unwrap(),
        body_len.to_string()
    );
    assert_eq!(head.headers()["content-type"], get_type);
    assert!(head.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn options_lists_the_routes_methods() {
    let server = spawn().await;
    let res = server.request("OPTIONS", "/users/7").send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(res.headers()["allow"], "GET, HEAD, OPTIONS, PUT");
    assert!(res.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn unexported_trace_and_unknown_methods_get_405_with_allow() {
    let server = spawn().await;
    for method in ["POST", "DELETE", "PATCH", "TRACE", "PURGE", "PROPFIND"] {
        let res = server.request(method, "/hello").send().await.unwrap();
        let headers = assert_error(res, 405, "method_not_allowed").await;
        assert_eq!(headers["allow"], "GET, HEAD, OPTIONS", "{method}");
    }
    let res = server.get("/api/items").send().await.unwrap();
    let headers = assert_error(res, 405, "method_not_allowed").await;
    assert_eq!(headers["allow"], "OPTIONS, POST");
}

#[tokio::test]
async fn method_override_is_never_honoured() {
    let server = spawn().await;
    let res = server
        .post("/hello?_method=GET")
        .header("x-http-method-override", "GET")
        .send()
        .await
        .unwrap();
    assert_error(res, 405, "method_not_allowed").await;
}
