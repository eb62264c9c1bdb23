//! How long what the code flow stores lasts: codes expire after ten minutes, and expired
//! codes and tokens are purged an hour later.

use super::{authorize, server_error, setup, tokens_for};
use oauth2::basic::BasicErrorResponseType;
use oauth2::TokenResponse;

#[tokio::test]
async fn codes_expire_after_ten_minutes() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let (fresh, fresh_verifier) = authorize(&s, &[]).await;
    let (stale, stale_verifier) = authorize(&s, &[]).await;

    s.app.clock.advance(chrono::TimeDelta::seconds(9 * 60 + 30));
    let in_time = s
        .client
        .exchange_code(fresh)
        .set_pkce_verifier(fresh_verifier)
        .request_async(&http)
        .await;
    s.app.clock.advance(chrono::TimeDelta::seconds(31));
    let too_late = s
        .client
        .exchange_code(stale)
        .set_pkce_verifier(stale_verifier)
        .request_async(&http)
        .await;

    assert!(in_time.is_ok());
    assert_eq!(
        server_error(too_late.unwrap_err()),
        BasicErrorResponseType::InvalidGrant
    );
}

#[tokio::test]
async fn stored_user_tokens_and_codes_are_purged_an_hour_after_they_expire() {
    let s = setup().await;
    let tokens = tokens_for(&s, &["profile"]).await;
    let pool = s.app.pool();
    let writer = keyturn::db::writer::Writer::start(
        pool,
        keyturn::db::Backend::of(&s.app.database_url),
        &Default::default(),
    )
    .unwrap();
    let now = s.app.clock.now();
    let purge = |minutes| {
        keyturn::service::tokens::purge_expired(&writer, now + chrono::TimeDelta::minutes(minutes))
    };

    // The code expired after 10 minutes, the access token after 60; the refresh token lives on.
    let nothing = purge(69).unwrap();
    let code = purge(71).unwrap();
    let access_token = purge(121).unwrap();

    assert_eq!((nothing, code, access_token), (0, 1, 1));
    let refreshed = s
        .client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&|request| s.proxy.send(request))
        .await;
    assert!(refreshed.is_ok(), "the refresh token was kept");
}
