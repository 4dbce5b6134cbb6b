//! Serving the example: the landing page, and the binary's logs and graceful stop.

#[tokio::test]
async fn app_route_rs_serves_the_root() {
    let db = routekit_test::TestDb::sqlite();
    let server = crate::helpers::with_auth(&db).await;
    let res = server.get("/").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("<h1>Notes you keep to yourself</h1>")
    );
}

#[tokio::test]
async fn the_server_binary_serves_and_stops_on_sigterm() {
    let db = routekit_test::TestDb::sqlite();
    let mut server = routekit_test::ServerProcess::start(
        env!("CARGO_BIN_EXE_saas"),
        &[("DATABASE_URL", db.url())],
    )
    .await;
    let res = routekit_test::client()
        .get(format!("{}/", server.url()))
        .header("cookie", "session=secret-cookie")
        .send()
        .await
        .unwrap();
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("<h1>Notes you keep to yourself</h1>")
    );
    // Request logs carry method, path, status and latency, never bodies or cookies.
    let log = loop {
        let line = server.next_line().await.expect("server log");
        if line.contains("path=\"/\"") || line.contains("path=/ ") {
            break line;
        }
    };
    assert!(
        log.contains("status=200") && log.contains("method=GET") && log.contains("latency_us="),
        "{log}"
    );
    assert!(!log.contains("secret-cookie"), "{log}");
    let status = server.terminate().await;
    assert!(status.success(), "graceful exit, got {status}");
}
