//! `pub const AUTH: Auth = Auth::Role("super-admin")` and `Session::require_role` against a
//! real server with the embedded auth server, on SQLite and PostgreSQL: no session, no role,
//! a wrong role, the right role at `aal1` with a factor, without a factor, and a cookie whose
//! copy of the user claims the role. The handler runs only for a holder.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use routekit::auth::{
    AccountUpdate, AuthConfig, AuthService, Ban, Client, NewAccount, TokenResponse, totp,
};
use routekit::{
    ApiError, App, Auth, Json, RolePolicy, RoleRefusal, Route, RouteTable, Session, SessionConfig,
};
use routekit_test::{Calls, TestDb, TestServer, on_both_databases};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

struct Setup {
    auth: AuthService,
    server: TestServer,
    /// Calls of `/admin`'s handler and of `/check`'s after its `require_role`.
    calls: Calls,
    _db: TestDb,
}

/// `/admin`: GET and POST with `AUTH = Role("super-admin")`; `/check`: a session route
/// whose handler calls `require_role`.
async fn setup(db: TestDb, roles: RolePolicy) -> Setup {
    let auth = AuthService::start(AuthConfig::new(db.url()))
        .await
        .expect("auth service");
    let calls = Calls::default();
    let admin = {
        let calls = calls.clone();
        move |session: Session| {
            calls.hit();
            async move { Json(json!({ "email": session.email, "role": session.role })) }
        }
    };
    let check = {
        let calls = calls.clone();
        move |session: Session| {
            let calls = calls.clone();
            async move {
                session.require_role("super-admin")?;
                calls.hit();
                Ok::<_, ApiError>(Json(json!({ "ok": true })))
            }
        }
    };
    let routes = RouteTable::new(vec![
        Route::new("/admin", "app/admin/route.rs", &["/admin"])
            .get(admin.clone())
            .post(admin)
            .auth(Auth::Role("super-admin")),
        Route::new("/check", "app/check/route.rs", &["/check"]).get(check),
    ]);
    let mut config = SessionConfig::default();
    config.roles = roles;
    let app = App::new(routes)
        .csrf(false)
        .sessions(auth.clone())
        .session_config(config);
    Setup {
        server: TestServer::spawn(app.into_service()).await,
        auth,
        calls,
        _db: db,
    }
}

impl Setup {
    /// A confirmed user with `role` (if any), signed in with the password: `aal1`.
    async fn user(&self, email: &str, role: Option<&str>) -> TokenResponse {
        let mut account = NewAccount::new(email)
            .password(PASSWORD)
            .email_confirm(true);
        if let Some(role) = role {
            account = account.app_metadata(json!({ "role": role }));
        }
        self.auth.admin().create_user(account).await.unwrap();
        self.sign_in(email).await
    }

    async fn sign_in(&self, email: &str) -> TokenResponse {
        self.auth
            .sign_in_with_password(&Client::unknown(), email, PASSWORD)
            .await
            .unwrap()
    }

    /// Enrolls and verifies a TOTP factor from `session`: the `aal2` session.
    async fn verify_factor(&self, session: &TokenResponse) -> TokenResponse {
        let client = Client::unknown();
        let claims = &session.claims;
        let factor = self.auth.enroll_totp(claims, None, None).await.unwrap();
        let challenge = self
            .auth
            .challenge(&client, claims, &factor.id)
            .await
            .unwrap();
        let secret = routekit::auth::base32_decode(&factor.secret).unwrap();
        let step = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            / 30;
        self.auth
            .verify_totp(
                &client,
                claims,
                &factor.id,
                &challenge.id,
                &totp(&secret, step),
            )
            .await
            .unwrap()
    }

    async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.server
            .get(path)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

async fn assert_error(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status(), status, "expected {status} {code}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    body
}

on_both_databases!(
    a_holder_at_aal2_passes_and_everyone_else_is_refused,
    the_role_is_read_from_the_store_not_from_a_cookie,
    policy_can_drop_the_factor_and_answer_403,
);

async fn a_holder_at_aal2_passes_and_everyone_else_is_refused(db: TestDb) {
    let s = setup(db, RolePolicy::default()).await;
    let unknown = s.server.get("/no-such-route").send().await.unwrap();
    let not_found = assert_error(unknown, 404, "not_found").await;

    // No session: the usual 401, and the sign-in redirect for a page.
    let res = s.server.get("/admin").send().await.unwrap();
    assert_error(res, 401, "unauthenticated").await;
    let res = s
        .server
        .get("/admin")
        .header("sec-fetch-mode", "navigate")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 307);
    assert_eq!(res.headers()["location"], "/auth/sign-in?next=%2Fadmin");

    // No role, even at aal2: the route does not exist for them.
    let plain = s.user("plain@example.com", None).await;
    let plain = s.verify_factor(&plain).await;
    for path in ["/admin", "/check"] {
        let body = assert_error(s.get(path, &plain.access_token).await, 404, "not_found").await;
        assert_eq!(body, not_found, "indistinguishable from an unknown URL");
    }
    // A page navigation too: no redirect that would give the route away.
    let res = s
        .server
        .get("/admin")
        .bearer_auth(&plain.access_token)
        .header("sec-fetch-mode", "navigate")
        .send()
        .await
        .unwrap();
    assert_error(res, 404, "not_found").await;

    // Another role, at aal2.
    let editor = s.user("editor@example.com", Some("editor")).await;
    let editor = s.verify_factor(&editor).await;
    assert_error(
        s.get("/admin", &editor.access_token).await,
        404,
        "not_found",
    )
    .await;

    // The role without any factor: refused, as Makerkit's super admin is.
    let bare = s.user("bare@example.com", Some("super-admin")).await;
    for path in ["/admin", "/check"] {
        assert_error(s.get(path, &bare.access_token).await, 404, "not_found").await;
    }

    // The role and a factor, but this device signed in with the password only: verify first.
    let boss = s.user("boss@example.com", Some("super-admin")).await;
    let boss_aal2 = s.verify_factor(&boss).await;
    let second_device = s.sign_in("boss@example.com").await;
    assert_error(
        s.get("/admin", &second_device.access_token).await,
        403,
        "mfa_required",
    )
    .await;
    let res = s
        .server
        .get("/admin")
        .bearer_auth(&second_device.access_token)
        .header("sec-fetch-mode", "navigate")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 307);
    assert_eq!(res.headers()["location"], "/auth/verify?next=%2Fadmin");
    let res = s
        .server
        .post("/admin")
        .bearer_auth(&second_device.access_token)
        .send()
        .await
        .unwrap();
    assert_error(res, 403, "mfa_required").await;
    assert_eq!(s.calls.get(), 0, "no refusal reached a handler");

    // The holder at aal2.
    let res = s.get("/admin", &boss_aal2.access_token).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "email": "boss@example.com", "role": "super-admin" })
    );
    let res = s
        .server
        .post("/admin")
        .bearer_auth(&boss_aal2.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(s.get("/check", &boss_aal2.access_token).await.status(), 200);
    assert_eq!(s.calls.get(), 3);

    // The role taken away: refused on the next request (this instance drops its cache).
    let boss_id = boss.user.id.clone();
    s.auth
        .admin()
        .update_user(&boss_id, AccountUpdate::role(None))
        .await
        .unwrap();
    assert_error(
        s.get("/admin", &boss_aal2.access_token).await,
        404,
        "not_found",
    )
    .await;
    // Given back, then the user banned: no session at all.
    s.auth
        .admin()
        .update_user(&boss_id, AccountUpdate::role(Some("super-admin")))
        .await
        .unwrap();
    assert_eq!(s.get("/admin", &boss_aal2.access_token).await.status(), 200);
    s.auth
        .admin()
        .update_user(
            &boss_id,
            AccountUpdate::default().ban(Ban::For(std::time::Duration::from_secs(3600))),
        )
        .await
        .unwrap();
    assert_error(
        s.get("/admin", &boss_aal2.access_token).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_eq!(s.calls.get(), 4);
}

async fn the_role_is_read_from_the_store_not_from_a_cookie(db: TestDb) {
    let s = setup(db, RolePolicy::default()).await;
    let user = s.user("ann@example.com", None).await;
    let user = s.verify_factor(&user).await;
    // The session as @supabase/ssr stores it, with the user's copy claiming the role.
    let mut session = user.to_json();
    session["user"]["app_metadata"]["role"] = json!("super-admin");
    session["user"]["role"] = json!("super-admin");
    let cookie = format!(
        "sb-127-auth-token=base64-{}",
        URL_SAFE_NO_PAD.encode(session.to_string())
    );
    let res = s
        .server
        .get("/admin")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_error(res, 404, "not_found").await;
    // The same cookie is a session: only the role is refused.
    let res = s
        .server
        .get("/check")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_error(res, 404, "not_found").await;
    assert_eq!(s.calls.get(), 0);
}

async fn policy_can_drop_the_factor_and_answer_403(db: TestDb) {
    let s = setup(
        db,
        RolePolicy {
            require_factor: false,
            refusal: RoleRefusal::Forbidden,
        },
    )
    .await;
    let plain = s.user("plain@example.com", None).await;
    assert_error(s.get("/admin", &plain.access_token).await, 403, "forbidden").await;
    assert_error(s.get("/check", &plain.access_token).await, 403, "forbidden").await;
    assert_eq!(s.calls.get(), 0);
    let boss = s.user("boss@example.com", Some("super-admin")).await;
    assert_eq!(s.get("/admin", &boss.access_token).await.status(), 200);
    assert_eq!(s.get("/check", &boss.access_token).await.status(), 200);
    assert_eq!(s.calls.get(), 2);
}
