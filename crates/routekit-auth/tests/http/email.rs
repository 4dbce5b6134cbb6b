//! The e-mail flows against a real SMTP server on 127.0.0.1:0: confirmation, codes, magic
//! links, recovery, resends, PKCE, redirects, limits, and a mail server that is down.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use routekit_auth::AuthConfig;
use routekit_auth::routekit_mail::{SmtpConfig, TlsMode};
use routekit_test::{SmtpSink, TestDb, closed_port, on_both_databases};
use serde_json::{Value, json};

use crate::helpers::{Auth, PASSWORD, assert_error, claims, start_with};

on_both_databases!(
    sign_up_with_confirmation_mails_a_link_that_signs_in_once,
    codes_sign_in_once_and_wrong_codes_are_bounded,
    recovery_answers_alike_for_unknown_addresses_and_resets_the_password,
    links_work_only_for_their_type_and_expire,
    redirects_go_only_to_allowed_urls,
    pkce_links_yield_a_code_only_the_verifier_can_exchange,
    sending_is_limited_per_address_and_per_client,
    a_mail_server_that_is_down_fails_clearly_and_leaves_nothing,
    sign_up_for_an_existing_address_answers_like_a_new_one,
    otp_creates_users_only_when_asked,
    resend_voids_the_previous_link,
    email_change_is_confirmed_from_both_addresses,
    email_change_to_the_new_address_only_when_not_secure,
    reauthentication_guards_new_passwords,
    without_smtp_mail_waits_in_the_local_mailbox,
    expired_tokens_are_purged_and_live_ones_kept,
);

/// A confirmed user with [`PASSWORD`], signed in: the access token.
async fn confirmed_session(auth: &Auth, email: &str) -> String {
    let mut account = routekit_auth::NewAccount::new(email);
    account.email_confirm = true;
    account.password = Some(PASSWORD.into());
    auth.service.admin().create_user(account).await.unwrap();
    let res = auth.sign_in(email, PASSWORD).await;
    assert_eq!(res.status(), 200);
    let session: Value = res.json().await.unwrap();
    session["access_token"].as_str().unwrap().to_owned()
}

/// SMTP at `port`, TLS off, a short deadline.
fn smtp(port: u16) -> SmtpConfig {
    SmtpConfig::new("127.0.0.1", port, "no-reply@example.com")
        .with_tls(TlsMode::None)
        .with_timeout(Duration::from_millis(1500))
}

/// The auth API with confirmation on, mailing through a fresh sink, no send-frequency limit
/// unless `configure` sets one.
async fn start_mail(
    db: TestDb,
    configure: impl FnOnce(AuthConfig) -> AuthConfig,
) -> (Auth, SmtpSink) {
    let sink = SmtpSink::start().await;
    let port = sink.port();
    let auth = start_with(db, |c| {
        configure(
            c.with_autoconfirm(false)
                .with_smtp(smtp(port))
                .with_mail_timing(Duration::from_secs(3600), Duration::ZERO),
        )
    })
    .await;
    (auth, sink)
}

/// A mailed link (to the site URL) as a request to the test server.
fn local(auth: &Auth, link: &str) -> String {
    let path = link
        .strip_prefix("http://127.0.0.1:3000")
        .expect("links go to the site URL");
    auth.server.url(path)
}

fn params(text: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}

/// The `Location` of a 303.
async fn follow(auth: &Auth, url: &str) -> String {
    let res = auth.server.client().get(url).send().await.unwrap();
    assert_eq!(res.status(), 303, "{url}");
    res.headers()["location"].to_str().unwrap().to_owned()
}

fn fragment(location: &str) -> HashMap<String, String> {
    params(location.split_once('#').map_or("", |(_, f)| f))
}

fn query(location: &str) -> HashMap<String, String> {
    let before = location.split('#').next().unwrap();
    params(before.split_once('?').map_or("", |(_, q)| q))
}

/// The `token` of a mailed link.
fn token_of(link: &str) -> String {
    query(link)["token"].clone()
}

/// `POST /verify` with the token of a mailed link.
async fn verify_link(auth: &Auth, kind: &str, link: &str) -> reqwest::Response {
    auth.post(
        "/verify",
        json!({"type": kind, "token_hash": token_of(link)}),
    )
    .await
}

async fn sign_up(auth: &Auth, email: &str) -> reqwest::Response {
    auth.post("/signup", json!({"email": email, "password": PASSWORD}))
        .await
}

async fn sign_up_with_confirmation_mails_a_link_that_signs_in_once(db: TestDb) {
    let (auth, sink) = start_mail(db, |c| c).await;
    let settings: Value = auth
        .request(reqwest::Method::GET, "/settings")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(settings["mailer_autoconfirm"], false);

    let res = sign_up(&auth, "Ann@Example.com").await;
    assert_eq!(res.status(), 200);
    let user: Value = res.json().await.unwrap();
    assert!(user.get("access_token").is_none(), "no session: {user}");
    assert!(user["email_confirmed_at"].is_null());
    assert!(user["confirmation_sent_at"].is_string());
    assert_error(
        auth.sign_in("ann@example.com", PASSWORD).await,
        400,
        "email_not_confirmed",
    )
    .await;

    let mail = sink
        .last_to("ann@example.com")
        .expect("a confirmation mail");
    assert_eq!(mail.subject(), "Confirm Your Signup");
    let link = mail.link().unwrap();
    assert!(
        link.starts_with("http://127.0.0.1:3000/auth/v1/verify?token="),
        "{link}"
    );
    assert_eq!(query(&link)["type"], "signup");
    assert!(
        mail.html()
            .contains("href=\"http://127.0.0.1:3000/auth/v1/verify?token=")
    );
    assert!(mail.code().is_some(), "the mail carries a code too");

    let location = follow(&auth, &local(&auth, &link)).await;
    assert!(
        location.starts_with("http://127.0.0.1:3000/#"),
        "{location}"
    );
    let session = fragment(&location);
    assert_eq!(session["token_type"], "bearer");
    assert_eq!(session["type"], "signup");
    assert!(session.contains_key("refresh_token"));
    let res = auth.get_user(&session["access_token"]).await;
    assert_eq!(res.status(), 200);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["id"], user["id"]);
    assert!(me["email_confirmed_at"].is_string());
    assert_eq!(claims(&session["access_token"])["amr"][0]["method"], "otp");
    assert_eq!(
        auth.sign_in("ann@example.com", PASSWORD).await.status(),
        200
    );

    // The link works once.
    let again = follow(&auth, &local(&auth, &link)).await;
    assert_eq!(fragment(&again)["error_code"], "otp_expired");
    assert_eq!(query(&again)["error_code"], "otp_expired");
    assert_eq!(fragment(&again)["error"], "access_denied");
}

async fn codes_sign_in_once_and_wrong_codes_are_bounded(db: TestDb) {
    let (auth, sink) = start_mail(db, |c| c.with_autoconfirm(true)).await;
    auth.sign_up("ann@example.com").await;
    let otp = || auth.post("/otp", json!({"email": "ann@example.com"}));
    let verify = |code: String| {
        auth.post(
            "/verify",
            json!({"type": "email", "email": "ann@example.com", "token": code}),
        )
    };
    assert_eq!(otp().await.status(), 200);
    let mail = sink.last_to("ann@example.com").unwrap();
    assert_eq!(mail.subject(), "Your Magic Link");
    assert_eq!(query(&mail.link().unwrap())["type"], "magiclink");
    let code = mail.code().unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..4 {
        assert_error(verify(wrong.into()).await, 403, "otp_expired").await;
    }
    let res = verify(code.clone()).await;
    assert_eq!(res.status(), 200);
    let session: Value = res.json().await.unwrap();
    assert_eq!(session["user"]["email"], "ann@example.com");
    assert_error(verify(code).await, 403, "otp_expired").await;

    // Five wrong codes void the code: the right one fails after them.
    assert_eq!(otp().await.status(), 200);
    let code = sink.last_to("ann@example.com").unwrap().code().unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        assert_error(verify(wrong.into()).await, 403, "otp_expired").await;
    }
    assert_error(verify(code).await, 403, "otp_expired").await;
    // A code of another address, or of no address, proves nothing either.
    assert_error(
        auth.post(
            "/verify",
            json!({"type": "email", "email": "nobody@example.com", "token": "123456"}),
        )
        .await,
        403,
        "otp_expired",
    )
    .await;
}

async fn recovery_answers_alike_for_unknown_addresses_and_resets_the_password(db: TestDb) {
    let (auth, sink) = start_mail(db, |c| c.with_autoconfirm(true)).await;
    auth.sign_up("ann@example.com").await;
    let known = auth
        .post("/recover", json!({"email": "ann@example.com"}))
        .await;
    let unknown = auth
        .post("/recover", json!({"email": "bob@example.com"}))
        .await;
    assert_eq!(known.status(), 200);
    assert_eq!(unknown.status(), 200);
    let known_body = known.text().await.unwrap();
    assert_eq!(known_body, unknown.text().await.unwrap());
    assert_eq!(known_body, "{}");
    assert!(sink.mails_to("bob@example.com").is_empty());

    let mail = sink.last_to("ann@example.com").unwrap();
    assert_eq!(mail.subject(), "Reset Your Password");
    let res = verify_link(&auth, "recovery", &mail.link().unwrap()).await;
    assert_eq!(res.status(), 200);
    let session: Value = res.json().await.unwrap();
    let token = session["access_token"].as_str().unwrap();
    let res = auth
        .put_user(token, json!({"password": "a brand new passphrase"}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        auth.sign_in("ann@example.com", "a brand new passphrase")
            .await
            .status(),
        200
    );
    assert_error(
        auth.sign_in("ann@example.com", PASSWORD).await,
        400,
        "invalid_credentials",
    )
    .await;

    // Timing: with a mail server that takes 200 ms, an unknown address is answered after
    // about as long as a known one (medians of a few requests, measured in one run).
    sink.set_delay(Duration::from_millis(200));
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..4 {
        for (i, email) in ["ann@example.com", "bob@example.com"].iter().enumerate() {
            let started = Instant::now();
            let res = auth.post("/recover", json!({ "email": email })).await;
            assert_eq!(res.status(), 200);
            times[i].push(started.elapsed());
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (known, unknown) = (median(&mut times[0]), median(&mut times[1]));
    assert!(
        unknown * 2 >= known && known * 2 >= unknown,
        "known {known:?} vs unknown {unknown:?}"
    );
}

async fn links_work_only_for_their_type_and_expire(db: TestDb) {
    let (auth, sink) = start_mail(db, |c| c).await;
    sign_up(&auth, "ann@example.com").await;
    let hash = token_of(&sink.last_to("ann@example.com").unwrap().link().unwrap());
    let verify = |kind: &str, token_hash: &str| {
        auth.post("/verify", json!({"type": kind, "token_hash": token_hash}))
    };
    // The wrong type and a guess are refused, and the right type still works after them.
    assert_error(verify("recovery", &hash).await, 403, "otp_expired").await;
    assert_error(verify("magiclink", &hash).await, 403, "otp_expired").await;
    let guess = "A".repeat(43);
    assert_error(verify("signup", &guess).await, 403, "otp_expired").await;
    assert_error(verify("sms", &hash).await, 400, "phone_provider_disabled").await;
    assert_error(verify("nonsense", &hash).await, 400, "validation_failed").await;
    assert_error(
        auth.post(
            "/verify",
            json!({"type": "signup", "token_hash": hash, "email": "ann@example.com"}),
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
    assert_eq!(verify("signup", &hash).await.status(), 200);
    assert_error(verify("signup", &hash).await, 403, "otp_expired").await;

    // With links valid for no time at all, a fresh one has expired.
    let (auth, sink) = start_mail(TestDb::sqlite(), |c| {
        c.with_mail_timing(Duration::ZERO, Duration::ZERO)
    })
    .await;
    sign_up(&auth, "ann@example.com").await;
    let mail = sink.last_to("ann@example.com").unwrap();
    let res = verify_link(&auth, "signup", &mail.link().unwrap()).await;
    assert_error(res, 403, "otp_expired").await;
    let res = auth
        .post(
            "/verify",
            json!({"type": "signup", "email": "ann@example.com", "token": mail.code().unwrap()}),
        )
        .await;
    assert_error(res, 403, "otp_expired").await;
}

async fn redirects_go_only_to_allowed_urls(db: TestDb) {
    let (auth, sink) =
        start_mail(db, |c| c.with_uri_allow_list(["http://localhost:5173/**"])).await;
    let sign_up_to = |email: &'static str, to: &'static str| {
        let to: String = url::form_urlencoded::byte_serialize(to.as_bytes()).collect();
        auth.request(reqwest::Method::POST, &format!("/signup?redirect_to={to}"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
    };
    for (email, asked, lands) in [
        (
            "a@example.com",
            "https://evil.example/steal",
            "http://127.0.0.1:3000",
        ),
        (
            "b@example.com",
            "http://127.0.0.1:3000.evil.example/",
            "http://127.0.0.1:3000",
        ),
        ("c@example.com", "//evil.example", "http://127.0.0.1:3000"),
        (
            "d@example.com",
            "javascript:alert(1)",
            "http://127.0.0.1:3000",
        ),
        (
            "e@example.com",
            "http://127.0.0.1:3000/welcome",
            "http://127.0.0.1:3000/welcome",
        ),
        (
            "f@example.com",
            "http://localhost:5173/auth/callback",
            "http://localhost:5173/auth/callback",
        ),
    ] {
        assert_eq!(sign_up_to(email, asked).await.unwrap().status(), 200);
        let link = sink.last_to(email).unwrap().link().unwrap();
        assert_eq!(query(&link)["redirect_to"], lands, "{asked}");
        // The link's own redirect_to is checked again when it is followed.
        let tampered = local(&auth, &link).replace(
            &url::form_urlencoded::byte_serialize(lands.as_bytes()).collect::<String>(),
            "https%3A%2F%2Fevil.example",
        );
        let location = follow(&auth, &tampered).await;
        assert!(location.starts_with("http://127.0.0.1:3000"), "{location}");
    }
    // An error redirect stays on an allowed URL too.
    let location = follow(
        &auth,
        &auth
            .server
            .url("/auth/v1/verify?token=bogus&type=signup&redirect_to=https://evil.example"),
    )
    .await;
    assert!(location.starts_with("http://127.0.0.1:3000"), "{location}");
}

async fn pkce_links_yield_a_code_only_the_verifier_can_exchange(db: TestDb) {
    let (auth, sink) = start_mail(db, |c| c).await;
    // RFC 7636, appendix B.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let res = auth
        .post(
            "/signup",
            json!({"email": "ann@example.com", "password": PASSWORD,
                   "code_challenge": challenge, "code_challenge_method": "s256"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let link = sink.last_to("ann@example.com").unwrap().link().unwrap();
    let location = follow(&auth, &local(&auth, &link)).await;
    assert!(!location.contains('#'), "no session in the URL: {location}");
    let code = query(&location)["code"].clone();
    let exchange = |verifier: &str| {
        auth.post(
            "/token?grant_type=pkce",
            json!({"auth_code": code, "code_verifier": verifier}),
        )
    };
    assert_error(
        exchange("a-verifier-that-is-not-the-one-0000000000000").await,
        400,
        "bad_code_verifier",
    )
    .await;
    let res = exchange(verifier).await;
    assert_eq!(res.status(), 200);
    let session: Value = res.json().await.unwrap();
    assert_eq!(
        claims(session["access_token"].as_str().unwrap())["amr"][0]["method"],
        "email/signup"
    );
    assert_error(exchange(verifier).await, 404, "flow_state_not_found").await;
    assert_error(
        auth.post(
            "/token?grant_type=pkce",
            json!({"auth_code": "", "code_verifier": verifier}),
        )
        .await,
        400,
        "validation_failed",
    )
    .await;

    // The plain method, through a magic link; POST /verify with a PKCE link still signs in.
    let plain = "p".repeat(43);
    let res = auth
        .post(
            "/otp",
            json!({"email": "ann@example.com", "code_challenge": plain, "code_challenge_method": "plain"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let link = sink.last_to("ann@example.com").unwrap().link().unwrap();
    let code = query(&follow(&auth, &local(&auth, &link)).await)["code"].clone();
    let res = auth
        .post(
            "/token?grant_type=pkce",
            json!({"auth_code": code, "code_verifier": plain}),
        )
        .await;
    assert_eq!(res.status(), 200);
    // A challenge without its method, or a malformed one, is refused before any mail.
    let before = sink.mails().len();
    for body in [
        json!({"email": "ann@example.com", "code_challenge": challenge}),
        json!({"email": "ann@example.com", "code_challenge": "short", "code_challenge_method": "s256"}),
        json!({"email": "ann@example.com", "code_challenge": challenge, "code_challenge_method": "md5"}),
    ] {
        assert_error(auth.post("/otp", body).await, 400, "validation_failed").await;
    }
    assert_eq!(sink.mails().len(), before);
}

async fn sending_is_limited_per_address_and_per_client(db: TestDb) {
    let (auth, sink) = start_mail(db, |c| {
        let mut limits = c.rate_limits;
        limits.email_sent.count = 5;
        limits.email_sent.burst = 5;
        c.with_mail_timing(Duration::from_secs(3600), Duration::from_secs(60))
            .with_rate_limits(limits)
    })
    .await;
    auth.service
        .admin()
        .create_user({
            let mut account = routekit_auth::NewAccount::new("ann@example.com");
            account.email_confirm = true;
            account
        })
        .await
        .unwrap();
    // One recovery mail a minute per address, whether it has an account or not.
    for email in ["ann@example.com", "bob@example.com"] {
        assert_eq!(
            auth.post("/recover", json!({ "email": email }))
                .await
                .status(),
            200
        );
        let again = auth.post("/recover", json!({ "email": email })).await;
        let body = assert_error(again, 429, "over_email_send_rate_limit").await;
        assert!(
            body["message"].as_str().unwrap().contains("60 seconds"),
            "{body}"
        );
    }
    assert_eq!(sink.mails_to("ann@example.com").len(), 1);
    // The client's allowance: five requests for mail, then 429 for any address.
    assert_eq!(
        auth.post("/recover", json!({"email": "carl@example.com"}))
            .await
            .status(),
        200
    );
    assert_error(
        auth.post("/recover", json!({"email": "dora@example.com"}))
            .await,
        429,
        "over_email_send_rate_limit",
    )
    .await;
}

async fn a_mail_server_that_is_down_fails_clearly_and_leaves_nothing(db: TestDb) {
    let port = closed_port().await;
    let auth = start_with(db, |c| {
        c.with_autoconfirm(false)
            .with_smtp(smtp(port).with_timeout(Duration::from_millis(600)))
    })
    .await;
    for _ in 0..2 {
        let started = Instant::now();
        let res = sign_up(&auth, "ann@example.com").await;
        let body = assert_error(res, 500, "unexpected_failure").await;
        assert_eq!(body["message"], "Error sending confirmation email");
        // Within the send deadline; the margin is for a loaded machine.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        // No user was left behind, and the send slot was given back (no 429 the second time).
        let users = auth.service.admin().list_users(1, 50).await.unwrap();
        assert_eq!(users.total, 0);
    }
    // A known address and an unknown one fail alike while the server is down.
    auth.service
        .admin()
        .create_user(routekit_auth::NewAccount::new("bob@example.com"))
        .await
        .unwrap();
    for email in ["bob@example.com", "carl@example.com"] {
        let res = auth.post("/recover", json!({ "email": email })).await;
        let body = assert_error(res, 500, "unexpected_failure").await;
        assert_eq!(body["message"], "Error sending recovery email");
    }
}

async fn sign_up_for_an_existing_address_answers_like_a_new_one(db: TestDb) {
    let (auth, sink) = start_mail(db, |c| c).await;
    let first: Value = sign_up(&auth, "ann@example.com")
        .await
        .json()
        .await
        .unwrap();
    let link = sink.last_to("ann@example.com").unwrap().link().unwrap();
    follow(&auth, &local(&auth, &link)).await;
    let res = sign_up(&auth, "ann@example.com").await;
    assert_eq!(res.status(), 200, "not 422 user_already_exists");
    let second: Value = res.json().await.unwrap();
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&first), keys(&second));
    assert_ne!(first["id"], second["id"]);
    assert_eq!(second["identities"].as_array().unwrap().len(), 1);
    assert!(second["email_confirmed_at"].is_null());
    assert!(second.get("access_token").is_none());
    assert_eq!(
        sink.mails_to("ann@example.com").len(),
        1,
        "the owner is not mailed"
    );
    // The password of the second sign-up changed nothing.
    assert_eq!(
        auth.sign_in("ann@example.com", PASSWORD).await.status(),
        200
    );
}

async fn otp_creates_users_only_when_asked(db: TestDb) {
    let (auth, sink) = start_mail(db, |c| c).await;
    let res = auth
        .post(
            "/otp",
            json!({"email": "ann@example.com", "create_user": false}),
        )
        .await;
    assert_eq!(res.status(), 200, "answered as for a known address");
    assert_eq!(res.text().await.unwrap(), "{}");
    assert!(sink.mails().is_empty());
    assert_eq!(
        auth.service.admin().list_users(1, 50).await.unwrap().total,
        0
    );

    let res = auth
        .post(
            "/otp",
            json!({"email": "ann@example.com", "data": {"name": "Ann"}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    // A new address is confirmed by the mail: a confirmation, whose code signs in.
    let mail = sink.last_to("ann@example.com").unwrap();
    assert_eq!(query(&mail.link().unwrap())["type"], "signup");
    let res = auth
        .post(
            "/verify",
            json!({"type": "email", "email": "ann@example.com", "token": mail.code().unwrap()}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let session: Value = res.json().await.unwrap();
    assert_eq!(session["user"]["user_metadata"]["name"], "Ann");
    assert!(session["user"]["email_confirmed_at"].is_string());
    // Such a user has no password to sign in with.
    assert_error(
        auth.sign_in("ann@example.com", PASSWORD).await,
        400,
        "invalid_credentials",
    )
    .await;
    assert_error(
        auth.post("/otp", json!({"phone": "+15555550100"})).await,
        400,
        "phone_provider_disabled",
    )
    .await;

    // With sign-ups off, a new address is answered as a known one, and mailed nothing.
    let (auth, sink) = start_mail(TestDb::sqlite(), |c| c.with_signup(false)).await;
    let res = auth.post("/otp", json!({"email": "bob@example.com"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "{}");
    assert!(sink.mails().is_empty());
    assert_eq!(
        auth.service.admin().list_users(1, 50).await.unwrap().total,
        0
    );
}

async fn resend_voids_the_previous_link(db: TestDb) {
    let (auth, sink) = start_mail(db, |c| c).await;
    sign_up(&auth, "ann@example.com").await;
    let first = sink.last_to("ann@example.com").unwrap();
    let res = auth
        .post(
            "/resend",
            json!({"type": "signup", "email": "ann@example.com"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let second = sink.last_to("ann@example.com").unwrap();
    assert_ne!(first.link(), second.link());
    let verify = |link: String| {
        auth.post(
            "/verify",
            json!({"type": "signup", "token_hash": token_of(&link)}),
        )
    };
    assert_error(verify(first.link().unwrap()).await, 403, "otp_expired").await;
    assert_eq!(verify(second.link().unwrap()).await.status(), 200);
    // Nothing to resend to a confirmed user, nor to nobody: the same empty answer, no mail.
    for email in ["ann@example.com", "nobody@example.com"] {
        let res = auth
            .post("/resend", json!({"type": "signup", "email": email}))
            .await;
        assert_eq!(res.status(), 200);
    }
    assert_eq!(sink.mails_to("ann@example.com").len(), 2);
    assert_error(
        auth.post(
            "/resend",
            json!({"type": "bogus", "email": "ann@example.com"}),
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
}

async fn email_change_is_confirmed_from_both_addresses(db: TestDb) {
    let (auth, sink) = start_mail(db, |c| c).await;
    let token = confirmed_session(&auth, "ann@example.com").await;
    confirmed_session(&auth, "taken@example.com").await;
    assert_error(
        auth.put_user(&token, json!({"email": "taken@example.com"}))
            .await,
        422,
        "email_exists",
    )
    .await;
    let res = auth
        .put_user(&token, json!({"email": "Ann.New@example.com"}))
        .await;
    assert_eq!(res.status(), 200);
    let user: Value = res.json().await.unwrap();
    assert_eq!(
        user["email"], "ann@example.com",
        "unchanged until confirmed"
    );
    assert_eq!(user["new_email"], "ann.new@example.com");
    let to_new = sink
        .last_to("ann.new@example.com")
        .expect("mailed to the new address");
    let to_current = sink
        .last_to("ann@example.com")
        .expect("and to the current one");
    assert_eq!(to_new.subject(), "Confirm Email Change");
    assert!(to_new.text().contains("ann.new@example.com"));
    assert_eq!(query(&to_new.link().unwrap())["type"], "email_change");

    // One address alone changes nothing.
    let res = verify_link(&auth, "email_change", &to_current.link().unwrap()).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["msg"],
        "Confirmation link accepted. Please proceed to confirm link sent to the other email"
    );
    assert_eq!(
        auth.sign_in("ann@example.com", PASSWORD).await.status(),
        200
    );
    // The other one, followed as a link, completes it.
    let location = follow(&auth, &local(&auth, &to_new.link().unwrap())).await;
    let session = fragment(&location);
    assert_eq!(session["type"], "email_change");
    let me: Value = auth
        .get_user(&session["access_token"])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "ann.new@example.com");
    assert!(me.get("new_email").is_none());
    assert_eq!(
        auth.sign_in("ann.new@example.com", PASSWORD).await.status(),
        200
    );
    assert_error(
        auth.sign_in("ann@example.com", PASSWORD).await,
        400,
        "invalid_credentials",
    )
    .await;
}

async fn email_change_to_the_new_address_only_when_not_secure(db: TestDb) {
    let (auth, sink) = start_mail(db, |c| c.with_secure_email_change(false)).await;
    let token = confirmed_session(&auth, "ann@example.com").await;
    assert_eq!(
        auth.put_user(&token, json!({"email": "ann2@example.com"}))
            .await
            .status(),
        200
    );
    assert!(sink.mails_to("ann@example.com").is_empty());
    let code = sink.last_to("ann2@example.com").unwrap().code().unwrap();
    let res = auth
        .post(
            "/verify",
            json!({"type": "email_change", "email": "ann2@example.com", "token": code}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let session: Value = res.json().await.unwrap();
    assert_eq!(session["user"]["email"], "ann2@example.com");
    // Resending a change that is no longer pending mails nobody.
    let before = sink.mails().len();
    let res = auth
        .post(
            "/resend",
            json!({"type": "email_change", "email": "ann2@example.com"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(sink.mails().len(), before);
}

async fn reauthentication_guards_new_passwords(db: TestDb) {
    let (auth, sink) =
        start_mail(db, |c| c.with_secure_password_change(Some(Duration::ZERO))).await;
    let token = confirmed_session(&auth, "ann@example.com").await;
    let new_password = json!({"password": "a brand new passphrase"});
    assert_error(
        auth.put_user(&token, new_password.clone()).await,
        400,
        "reauthentication_needed",
    )
    .await;
    let res = auth
        .as_user(reqwest::Method::GET, "/reauthenticate", &token, None)
        .await;
    assert_eq!(res.status(), 200);
    let mail = sink.last_to("ann@example.com").unwrap();
    assert_eq!(mail.subject(), "Confirm Reauthentication");
    let nonce = mail.code().unwrap();
    let wrong = if nonce == "000000" {
        "111111"
    } else {
        "000000"
    };
    let with_nonce = |nonce: &str| json!({"password": "a brand new passphrase", "nonce": nonce});
    assert_error(
        auth.put_user(&token, with_nonce(wrong)).await,
        422,
        "reauthentication_not_valid",
    )
    .await;
    assert_eq!(
        auth.put_user(&token, with_nonce(&nonce)).await.status(),
        200
    );
    assert_error(
        auth.put_user(
            &token,
            json!({"password": "yet another passphrase", "nonce": nonce}),
        )
        .await,
        422,
        "reauthentication_not_valid",
    )
    .await;
    assert_eq!(
        auth.sign_in("ann@example.com", "a brand new passphrase")
            .await
            .status(),
        200
    );
    // Metadata needs no nonce, and nobody can reauthenticate without a session.
    assert_eq!(
        auth.put_user(&token, json!({"data": {"name": "Ann"}}))
            .await
            .status(),
        200
    );
    let res = auth
        .request(reqwest::Method::GET, "/reauthenticate")
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "no_authorization").await;
}

async fn without_smtp_mail_waits_in_the_local_mailbox(db: TestDb) {
    let auth = start_with(db, |c| c.with_autoconfirm(false)).await;
    assert!(auth.service.mails_to_mailbox());
    let mailbox = || {
        auth.server
            .client()
            .get(auth.server.url("/_routekit/mailbox"))
    };
    let empty = mailbox().send().await.unwrap();
    assert_eq!(empty.status(), 200);
    assert!(empty.text().await.unwrap().contains("No mail yet"));
    assert_eq!(sign_up(&auth, "ann@example.com").await.status(), 200);

    let res = mailbox().send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(
        res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    let page = res.text().await.unwrap();
    assert!(page.contains("Confirm Your Signup"), "{page}");
    assert!(page.contains("ann@example.com"));
    let start = page.find("href=\"").unwrap() + 6;
    let link = page[start..start + page[start..].find('"').unwrap()].replace("&amp;", "&");
    let location = follow(&auth, &local(&auth, &link)).await;
    assert!(
        fragment(&location).contains_key("access_token"),
        "{location}"
    );

    // Through a proxy, the page does not exist.
    for (name, value) in [
        ("x-forwarded-for", "203.0.113.9"),
        ("forwarded", "for=203.0.113.9"),
    ] {
        let res = mailbox().header(name, value).send().await.unwrap();
        assert_eq!(res.status(), 404, "{name}");
    }
    // Nor does it with a real mail server.
    let (auth, _sink) = start_mail(TestDb::sqlite(), |c| c).await;
    let res = auth
        .server
        .client()
        .get(auth.server.url("/_routekit/mailbox"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn templates_are_overridden_from_files_with_every_value_escaped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("confirmation.subject"),
        "Welcome to {{ .SiteURL }}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("confirmation.html"),
        "<p>Hi <b>{{ .Email }}</b>, <a href=\"{{ .ConfirmationURL }}\">confirm</a></p>",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("confirmation.txt"),
        "Code {{ .Token }} for {{ .Email }}: {{ .ConfirmationURL }}",
    )
    .unwrap();
    let templates = dir.path().to_owned();
    let (auth, sink) = start_mail(TestDb::sqlite(), move |mut c| {
        c.mailer_templates_dir = Some(templates);
        c
    })
    .await;
    let email = "o'neil&co@example.com";
    assert_eq!(sign_up(&auth, email).await.status(), 200);
    let mail = sink.last_to(email).unwrap();
    assert_eq!(mail.subject(), "Welcome to http://127.0.0.1:3000");
    assert!(
        mail.html()
            .contains("Hi <b>o&#39;neil&amp;co@example.com</b>"),
        "{}",
        mail.html()
    );
    assert!(mail.html().contains("&amp;type=signup"), "{}", mail.html());
    assert!(mail.text().starts_with(&format!(
        "Code {} for {email}: http://",
        mail.code().unwrap()
    )));
    // Templates that are not mails' (recovery here) keep GoTrue's defaults.
    auth.post("/recover", json!({ "email": email })).await;
    assert_eq!(
        sink.last_to(email).unwrap().subject(),
        "Reset Your Password"
    );

    // An override with a variable no mail has stops the server from starting, naming the file.
    std::fs::write(dir.path().join("recovery.txt"), "{{ .Passwrod }}").unwrap();
    let db = TestDb::sqlite();
    let err = routekit_auth::AuthService::start({
        let mut c = AuthConfig::new(db.url());
        c.mailer_templates_dir = Some(dir.path().to_owned());
        c
    })
    .await
    .unwrap_err();
    let message = format!("{err:?}");
    assert!(
        message.contains("recovery.txt") && message.contains("Passwrod"),
        "{message}"
    );
}

async fn expired_tokens_are_purged_and_live_ones_kept(db: TestDb) {
    let (auth, sink) = start_mail(db, |c| {
        c.with_mail_timing(Duration::from_secs(3600), Duration::from_secs(60))
    })
    .await;
    sign_up(&auth, "ann@example.com").await;
    // Nothing has expired: nothing goes, and the link still works.
    assert_eq!(
        auth.service.purge_expired().await.unwrap(),
        Default::default()
    );
    let link = sink.last_to("ann@example.com").unwrap().link().unwrap();
    assert_eq!(verify_link(&auth, "signup", &link).await.status(), 200);

    // Links valid for no time, and no frequency limit: the token goes at once.
    let (auth, _sink) = start_mail(TestDb::sqlite(), |c| {
        c.with_mail_timing(Duration::ZERO, Duration::ZERO)
    })
    .await;
    sign_up(&auth, "bob@example.com").await;
    let purged = auth.service.purge_expired().await.unwrap();
    assert_eq!(purged.tokens, 1, "{purged:?}");
    assert_eq!(auth.service.purge_expired().await.unwrap().tokens, 0);
}
