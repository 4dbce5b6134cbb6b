//! Starting: several instances on one fresh database at once (issue #12), as a deployment
//! that starts its replicas together does, or the CLI opening the file beside a server.

use routekit_auth::{AuthConfig, AuthService, Client};
use routekit_test::{TestDb, on_both_databases};

use crate::helpers::PASSWORD;

on_both_databases!(several_instances_started_at_once_on_a_fresh_database_all_start);

async fn several_instances_started_at_once_on_a_fresh_database_all_start(db: TestDb) {
    // Each one its own pool and migration run, all at once: only one may migrate, and the
    // others must wait for it rather than fail on `table auth_users already exists`.
    let starts = (0..6).map(|_| AuthService::start(AuthConfig::new(db.url())));
    let started: Vec<_> = futures_util::future::join_all(starts).await;
    let services: Vec<AuthService> = started
        .into_iter()
        .enumerate()
        .map(|(i, s)| s.unwrap_or_else(|e| panic!("instance {i} failed to start: {e:?}")))
        .collect();
    // They share one schema, one signing key set and one refresh-token key: a session made
    // on one is good on every other.
    let client = Client::unknown();
    services[0]
        .sign_up(&client, "ann@example.com", PASSWORD, None)
        .await
        .unwrap();
    let session = services[1]
        .sign_in_with_password(&client, "ann@example.com", PASSWORD)
        .await
        .unwrap();
    for (i, service) in services.iter().enumerate() {
        assert!(
            service.authenticate(&session.access_token).await.is_ok(),
            "instance {i} knows the token's key"
        );
    }
    let refreshed = services[5].refresh(&session.refresh_token).await.unwrap();
    assert!(
        services[2]
            .authenticate(&refreshed.access_token)
            .await
            .is_ok()
    );
}
