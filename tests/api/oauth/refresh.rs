//! The refresh token grant: a replayed refresh token revokes its whole family, and refresh
//! tokens expire after 30 days and end 90 days after the authorization however often they rotate.

use super::{api, server_error, setup, tokens_for};
use oauth2::basic::BasicErrorResponseType;
use oauth2::TokenResponse;
use reqwest::StatusCode;

#[tokio::test]
async fn a_reused_refresh_token_fails_and_revokes_the_whole_family() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let first = tokens_for(&s, &["profile"]).await;
    let second = s
        .client
        .exchange_refresh_token(first.refresh_token().unwrap())
        .request_async(&http)
        .await
        .unwrap();

    let replay = s
        .client
        .exchange_refresh_token(first.refresh_token().unwrap())
        .request_async(&http)
        .await;

    assert_eq!(
        server_error(replay.unwrap_err()),
        BasicErrorResponseType::InvalidGrant
    );
    let newest = s
        .client
        .exchange_refresh_token(second.refresh_token().unwrap())
        .request_async(&http)
        .await;
    assert_eq!(
        server_error(newest.unwrap_err()),
        BasicErrorResponseType::InvalidGrant
    );
    assert_eq!(
        api(&s, "/api/v1/me", second.access_token().secret())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn refresh_tokens_expire_after_thirty_days() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let tokens = tokens_for(&s, &[]).await;

    s.app.clock.advance(chrono::TimeDelta::days(30));
    let expired = s
        .client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&http)
        .await;

    assert_eq!(
        server_error(expired.unwrap_err()),
        BasicErrorResponseType::InvalidGrant
    );
}

#[tokio::test]
async fn refresh_tokens_end_ninety_days_after_the_authorization_however_often_they_rotate() {
    let s = setup().await;
    let http = |request| s.proxy.send(request);
    let mut tokens = tokens_for(&s, &[]).await;

    // Rotated every 20 days: each new refresh token would otherwise live another 30.
    for _ in 0..4 {
        s.app.clock.advance(chrono::TimeDelta::days(20));
        tokens = s
            .client
            .exchange_refresh_token(tokens.refresh_token().unwrap())
            .request_async(&http)
            .await
            .unwrap();
    }
    s.app
        .clock
        .advance(chrono::TimeDelta::days(10) + chrono::TimeDelta::minutes(1));
    let past_the_end = s
        .client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&http)
        .await;

    assert_eq!(
        server_error(past_the_end.unwrap_err()),
        BasicErrorResponseType::InvalidGrant
    );
}
