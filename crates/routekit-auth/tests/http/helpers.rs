//! The auth API on a real server over a real database, and a small client for it.

use routekit_auth::{AuthConfig, AuthService};
use routekit_test::{TestDb, TestServer};
use serde_json::{Value, json};

/// Runs an async test body once on SQLite and once on PostgreSQL (skipped, and said so,
/// when PostgreSQL is not configured outside CI).
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name(routekit_test::TestDb::sqlite()).await;
                }

                #[tokio::test]
                async fn postgres() {
                    if let Some(db) = routekit_test::TestDb::postgres().await {
                        super::$name(db).await;
                    }
                }
            }
        )*
    };
}
pub(crate) use on_both_databases;

/// The auth API with `config` over `db`.
pub(crate) struct Auth {
    pub(crate) server: TestServer,
    pub(crate) service: AuthService,
    pub(crate) _db: TestDb,
}

pub(crate) async fn start(db: TestDb) -> Auth {
    start_with(db, |c| c).await
}

pub(crate) async fn start_with(
    db: TestDb,
    configure: impl FnOnce(AuthConfig) -> AuthConfig,
) -> Auth {
    let config = configure(AuthConfig::new(db.url()));
    let service = AuthService::start(config)
        .await
        .expect("start the auth service");
    let server = TestServer::spawn(routekit_auth::router(service.clone())).await;
    Auth {
        server,
        service,
        _db: db,
    }
}

pub(crate) const PASSWORD: &str = "correct horse battery staple";

impl Auth {
    /// A request as supabase-js sends it (API version header, anon key as bearer).
    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.server
            .client()
            .request(method, self.server.url(&format!("/auth/v1{path}")))
            .header("x-supabase-api-version", "2024-01-01")
            .header("apikey", "anon")
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.request(reqwest::Method::POST, path)
            .header("authorization", "Bearer anon")
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn get_user(&self, access_token: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, "/user")
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
    }

    /// Signs up `email` and returns the session JSON.
    pub(crate) async fn sign_up(&self, email: &str) -> Value {
        let res = self
            .post(
                "/signup",
                json!({ "email": email, "password": PASSWORD, "data": {"name": "Ann"} }),
            )
            .await;
        assert_eq!(res.status(), 200, "sign-up");
        res.json().await.unwrap()
    }

    pub(crate) async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.post(
            "/token?grant_type=password",
            json!({ "email": email, "password": password }),
        )
        .await
    }

    pub(crate) async fn refresh(&self, token: &str) -> reqwest::Response {
        self.post(
            "/token?grant_type=refresh_token",
            json!({ "refresh_token": token }),
        )
        .await
    }
}

/// Asserts a GoTrue error in the versioned shape, with its headers.
pub(crate) async fn assert_error(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "status for `{code}`");
    assert_eq!(res.headers()["x-sb-error-code"], code);
    assert_eq!(res.headers()["x-supabase-api-version"], "2024-01-01");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}

/// The claims of a JWT, decoded without verification (for assertions).
pub(crate) fn claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}
