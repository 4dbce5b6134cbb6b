//! The auth API on a real server over a real database, and a small client for it.

use routekit_auth::{AuthConfig, AuthService};
use routekit_test::{TestDb, TestServer};
use serde_json::{Value, json};

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

/// The current TOTP time step, plus `ahead`.
pub(crate) fn step(ahead: i64) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    now / 30 + ahead
}

impl Auth {
    /// Sends `method path` with the user's bearer token and an optional JSON body.
    pub(crate) async fn as_user(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self.request(method, path).bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.unwrap()
    }

    /// `PUT /user` with `body`.
    pub(crate) async fn put_user(&self, token: &str, body: Value) -> reqwest::Response {
        self.as_user(reqwest::Method::PUT, "/user", token, Some(body))
            .await
    }

    /// Enrolls a TOTP factor and returns `(factor id, secret bytes, enrollment JSON)`.
    pub(crate) async fn enroll(&self, token: &str, name: &str) -> (String, Vec<u8>, Value) {
        let res = self
            .as_user(
                reqwest::Method::POST,
                "/factors",
                token,
                Some(json!({"factor_type": "totp", "friendly_name": name, "issuer": "Example"})),
            )
            .await;
        assert_eq!(res.status(), 200, "enroll");
        let body: Value = res.json().await.unwrap();
        let secret =
            routekit_auth::base32_decode(body["totp"]["secret"].as_str().unwrap()).unwrap();
        (body["id"].as_str().unwrap().to_owned(), secret, body)
    }

    /// Opens a challenge and sends `code`.
    pub(crate) async fn challenge_and_verify(
        &self,
        token: &str,
        factor: &str,
        code: &str,
    ) -> reqwest::Response {
        let res = self
            .as_user(
                reqwest::Method::POST,
                &format!("/factors/{factor}/challenge"),
                token,
                Some(json!({"factorId": factor})),
            )
            .await;
        assert_eq!(res.status(), 200, "challenge");
        let challenge: Value = res.json().await.unwrap();
        self.as_user(
            reqwest::Method::POST,
            &format!("/factors/{factor}/verify"),
            token,
            Some(json!({"challenge_id": challenge["id"], "code": code})),
        )
        .await
    }
}
