//! A captcha provider's siteverify endpoint, for tests of captcha checks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;

use crate::TestServer;

/// One verification the fake was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptchaAsk {
    /// The site's secret.
    pub secret: String,
    /// The token.
    pub response: String,
    /// The client's address, if sent.
    pub remoteip: String,
}

/// A siteverify endpoint on `127.0.0.1:0`, in the shape Turnstile, hCaptcha and reCAPTCHA
/// share (a form with `secret`, `response`, `remoteip`; JSON `success` back). The token
/// decides the answer: `pass…` succeeds, `hang` never answers, `garbage` is not JSON, `down`
/// is a 500, anything else is refused.
///
/// ```no_run
/// # async fn t() {
/// let fake = routekit_test::FakeCaptcha::start().await;
/// let url = fake.verify_url(); // give it to the verifier under test
/// assert!(fake.responses().is_empty());
/// # }
/// ```
#[derive(Debug)]
pub struct FakeCaptcha {
    server: TestServer,
    asked: Arc<Mutex<Vec<CaptchaAsk>>>,
}

impl FakeCaptcha {
    /// Starts the endpoint.
    pub async fn start() -> FakeCaptcha {
        let asked: Arc<Mutex<Vec<CaptchaAsk>>> = Arc::default();
        let log = asked.clone();
        let router = Router::new().route(
            "/siteverify",
            post(move |body: Bytes| {
                let log = log.clone();
                async move {
                    let form: HashMap<String, String> =
                        form_urlencoded::parse(&body).into_owned().collect();
                    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
                    let response = field("response");
                    log.lock().unwrap().push(CaptchaAsk {
                        secret: field("secret"),
                        response: response.clone(),
                        remoteip: field("remoteip"),
                    });
                    let answer = |status, content_type, body: String| {
                        (status, [("content-type", content_type)], body)
                    };
                    match response.as_str() {
                        r if r.starts_with("pass") => answer(
                            StatusCode::OK,
                            "application/json",
                            r#"{"success":true}"#.into(),
                        ),
                        "hang" => std::future::pending().await,
                        "garbage" => answer(StatusCode::OK, "text/html", "<html>".into()),
                        "down" => answer(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "application/json",
                            "{}".into(),
                        ),
                        _ => answer(
                            StatusCode::OK,
                            "application/json",
                            r#"{"success":false,"error-codes":["invalid-input-response"]}"#.into(),
                        ),
                    }
                }
            }),
        );
        FakeCaptcha {
            server: TestServer::spawn(router).await,
            asked,
        }
    }

    /// The endpoint's URL.
    pub fn verify_url(&self) -> String {
        self.server.url("/siteverify")
    }

    /// Every verification asked for so far.
    pub fn asked(&self) -> Vec<CaptchaAsk> {
        self.asked.lock().unwrap().clone()
    }

    /// The tokens asked about so far.
    pub fn responses(&self) -> Vec<String> {
        self.asked().into_iter().map(|a| a.response).collect()
    }
}
