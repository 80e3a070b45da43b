use crate::helpers::{error_code, record, spawn_app, test_now, Backend, NUMBER};
use elicence::domain::role::Role;
use elicence::storage::tokens;

async fn missing_and_malformed_tokens_are_401(backend: Backend) {
    let app = spawn_app(backend).await;
    app.seed(&record(NUMBER));
    let res = app.get("/api/v1/me/licence", None).await;
    assert_eq!(
        res.headers()["www-authenticate"],
        r#"Bearer realm="elicence""#
    );
    assert_eq!(error_code(res, 401).await.0, "unauthenticated");

    for header in [
        "Basic dXNlcjpwYXNz",
        "Bearer ",
        "elc_nothing",
        "Bearer elc_not-a-real-token",
        "Bearer x",
    ] {
        let res = app
            .client
            .get(app.url("/api/v1/me/licence"))
            .header("Authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(error_code(res, 401).await.0, "invalid_token", "{header}");
    }
}

async fn a_revoked_token_stops_working_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.holder(&record(NUMBER));
    assert_eq!(
        app.get("/api/v1/me/eligibility", Some(&token))
            .await
            .status(),
        200
    );
    let mut conn = app.test_db.db.get().unwrap();
    let id = tokens::list(&mut conn).unwrap().pop().unwrap().id;
    assert!(tokens::revoke(&mut conn, &id, test_now()).unwrap());
    assert!(
        !tokens::revoke(&mut conn, &id, test_now()).unwrap(),
        "revoking twice reports nothing to revoke"
    );
    drop(conn);
    let res = app.get("/api/v1/me/eligibility", Some(&token)).await;
    assert_eq!(error_code(res, 401).await.0, "invalid_token");
}

/// Each role reaches exactly its own routes.
async fn roles_fail_closed(backend: Backend) {
    let app = spawn_app(backend).await;
    let holder = app.holder(&record(NUMBER));
    let admin = app.token(Role::Admin, None);
    let officer = app.token(Role::Officer, None);
    let reviewer = app.token(Role::Reviewer, None);
    let admin_path = format!("/api/v1/admin/licences/{NUMBER}");

    for (token, path, expected) in [
        (&holder, "/api/v1/me/licence", 200),
        (&holder, "/api/v1/me/eligibility", 200),
        (&holder, admin_path.as_str(), 403),
        (&admin, admin_path.as_str(), 200),
        (&admin, "/api/v1/me/licence", 403),
        (&officer, "/api/v1/me/licence", 403),
        (&officer, admin_path.as_str(), 403),
        (&reviewer, "/api/v1/me/eligibility", 403),
        (&reviewer, admin_path.as_str(), 403),
    ] {
        let res = app.get(path, Some(token)).await;
        assert_eq!(res.status().as_u16(), expected, "{path}");
    }
    // Writes too.
    let res = app.put_json(&admin_path, &holder, &record(NUMBER)).await;
    assert_eq!(error_code(res, 403).await.0, "forbidden");
}

async fn holder_tokens_must_name_an_existing_licence(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut conn = app.test_db.db.get().unwrap();
    let number = elicence::domain::licence::LicenceNumber::parse(NUMBER).unwrap();
    let err = elicence::auth::create_token(
        &mut conn,
        Role::Holder,
        Some(number.clone()),
        None,
        test_now(),
    )
    .unwrap_err();
    assert!(
        matches!(err, elicence::auth::AuthError::UnknownLicence(_)),
        "{err}"
    );
    let err =
        elicence::auth::create_token(&mut conn, Role::Holder, None, None, test_now()).unwrap_err();
    assert!(matches!(err, elicence::auth::AuthError::LicenceBinding));
    let err = elicence::auth::create_token(&mut conn, Role::Admin, Some(number), None, test_now())
        .unwrap_err();
    assert!(matches!(err, elicence::auth::AuthError::LicenceBinding));
    assert!(
        tokens::list(&mut conn).unwrap().is_empty(),
        "nothing half-written"
    );
}

crate::both_backends!(
    missing_and_malformed_tokens_are_401,
    a_revoked_token_stops_working_at_once,
    roles_fail_closed,
    holder_tokens_must_name_an_existing_licence,
);
