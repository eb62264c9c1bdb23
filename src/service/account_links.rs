//! Mailed single-use links: proving an address, and resetting a forgotten password. A link
//! carries 256 random bits; the database keeps only its SHA-256, and using it is one
//! conditional update (`db::account_links::consume`).

use crate::db::{self, account_links, users, DbPool};
use crate::domain::{Account, Email, MailedLink, OpaqueToken, Password, RequestOrigin, TokenKind};
use crate::infra::hashing::{self, Bcrypt, Lane};
use crate::infra::throttle::{ThrottleError, Throttles};
use crate::service::accounts::{account_key, new_verification_in, AccountError};
use crate::service::audit::{self, Actor};
use crate::service::notifications::Notifier;
use crate::service::teams;
use anyhow::Context;
use chrono::{NaiveDateTime, TimeDelta};
use std::sync::Arc;

/// How long a password reset link works.
pub const RESET_PASSWORD_TTL: TimeDelta = TimeDelta::hours(1);

fn too_many_mails(e: ThrottleError) -> AccountError {
    match e {
        ThrottleError::Exceeded(wait) => AccountError::TooManyMails(wait),
        ThrottleError::Unexpected(e) => AccountError::Unexpected(e),
    }
}

/// "Resend verification email": a fresh link (the earlier ones stop working), throttled per
/// account like a password reset. Nothing happens for a proven address.
pub async fn resend_verification(
    pool: &DbPool,
    throttles: &Throttles,
    notifier: &Arc<Notifier>,
    account: &Account,
    now: NaiveDateTime,
) -> Result<(), AccountError> {
    if account.email_verified || !notifier.mails() {
        return Ok(());
    }
    let _counted = throttles
        .mail_account
        .reserve(&account_key(&account.email), now)
        .await
        .map_err(too_many_mails)?;
    let user_id = account.id;
    let link = db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| new_verification_in(conn, user_id, now))
            .context("recording a verification link")
    })
    .await?;
    notifier.mail_account_link(account.email.clone(), link);
    Ok(())
}

/// Proves the address of the link's account: its pending team invitations are accepted with
/// it. `false` for a link that is unknown, used or expired.
pub async fn verify_email(
    pool: &DbPool,
    token: String,
    now: NaiveDateTime,
) -> Result<bool, AccountError> {
    let token_hash = OpaqueToken::presented(&token).hash();
    let verified = db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let Some(user_id) =
                account_links::consume(conn, &token_hash, account_links::VERIFY_EMAIL, now)?
            else {
                return Ok(false);
            };
            prove_address(conn, user_id, None, now)?;
            anyhow::Ok(true)
        })
        .context("verifying an email address")
    })
    .await?;
    Ok(verified)
}

/// Marks the account's address proven, accepts its pending invitations, and records it.
fn prove_address(
    conn: &mut db::Conn,
    user_id: i32,
    ip: Option<String>,
    now: NaiveDateTime,
) -> diesel::QueryResult<Account> {
    let user = users::find(conn, user_id)?.ok_or(diesel::result::Error::NotFound)?;
    if user.email_verified_at.is_none() {
        users::mark_email_verified(conn, user_id, now)?;
        teams::accept_invitations(conn, user_id, &user.email, now)?;
        let account = Account::from(user.clone());
        audit::record(
            conn,
            &Actor::new(&account, ip),
            "account.email_verified",
            None,
            None,
            "Verified the email address",
            now,
        )?;
    }
    Ok(Account::from(user))
}

/// "Forgot password?": mails a reset link if an account has this address. The answer is the
/// same, and as quick, either way; requests are counted per address and per email typed,
/// whether or not it has an account.
pub async fn forgot_password(
    pool: &DbPool,
    throttles: &Throttles,
    notifier: &Arc<Notifier>,
    typed: &str,
    origin: &RequestOrigin,
    now: NaiveDateTime,
) -> Result<(), AccountError> {
    let _address = throttles
        .mail_address
        .reserve(origin.address_key(), now)
        .await
        .map_err(too_many_mails)?;
    let _account = throttles
        .mail_account
        .reserve(&account_key(typed), now)
        .await
        .map_err(too_many_mails)?;
    let Ok(email) = Email::parse(typed) else {
        return Ok(());
    };
    // Looked up and mailed after the answer, so the answer takes as long whether or not an
    // account has the address.
    let (pool, notifier) = (pool.clone(), Arc::clone(notifier));
    tokio::spawn(async move {
        let link = db::run(&pool, move |conn| {
            let Some(user) = users::find_by_email(conn, email.as_str())? else {
                return Ok(None);
            };
            let token = OpaqueToken::generate(TokenKind::AccountLink);
            db::write_transaction(conn, |conn| {
                account_links::replace(
                    conn,
                    user.id,
                    account_links::RESET_PASSWORD,
                    &token.hash(),
                    now,
                    now + RESET_PASSWORD_TTL,
                )
            })?;
            anyhow::Ok(Some((user.email, MailedLink::ResetPassword(token))))
        })
        .await;
        match link {
            Ok(Some((to, link))) => notifier.mail_account_link(to, link),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = format!("{e:#}"), "recording a reset link failed"),
        }
    });
    Ok(())
}

/// Whether a reset link still works (the form is shown only then); uses nothing.
pub async fn reset_link_works(
    pool: &DbPool,
    token: String,
    now: NaiveDateTime,
) -> Result<bool, AccountError> {
    let token_hash = OpaqueToken::presented(&token).hash();
    let found = db::run(pool, move |conn| {
        account_links::find_usable(conn, &token_hash, account_links::RESET_PASSWORD, now)
            .context("reading a password reset link")
    })
    .await?;
    Ok(found.is_some())
}

/// Sets a new password through a reset link: every session of the account ends, and the
/// address counts as proven (the link reached its mailbox). `false` for a link that is
/// unknown, used or expired. A second factor is still asked at the next log-in.
pub async fn reset_password(
    pool: &DbPool,
    bcrypt: &Bcrypt,
    token: String,
    new: Password,
    ip: Option<String>,
    now: NaiveDateTime,
) -> Result<bool, AccountError> {
    // Checked before the bcrypt, so a made-up link costs nothing.
    if !reset_link_works(pool, token.clone(), now).await? {
        return Ok(false);
    }
    let hash = hashing::hash(bcrypt, new.expose().to_owned(), Lane::Interactive).await?;
    let token_hash = OpaqueToken::presented(&token).hash();
    let reset = db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            // Used here, in the transaction that changes the password: of two requests with
            // one link, one changes it.
            let Some(user_id) =
                account_links::consume(conn, &token_hash, account_links::RESET_PASSWORD, now)?
            else {
                return Ok(false);
            };
            users::change_password(conn, user_id, &hash)?;
            db::sessions::delete_all_for_user(conn, user_id, None)?;
            // Whoever had the account may have made tokens: they go with the sessions.
            db::api_tokens::revoke_all_for_user(conn, user_id, now)?;
            account_links::withdraw(conn, user_id, account_links::RESET_PASSWORD)?;
            let account = prove_address(conn, user_id, ip.clone(), now)?;
            audit::record(
                conn,
                &Actor::new(&account, ip),
                "account.password_reset",
                None,
                None,
                "Reset the password through a mailed link; every session ended and every API token revoked",
                now,
            )?;
            Ok::<_, anyhow::Error>(true)
        })
        .context("resetting a password")
    })
    .await?;
    Ok(reset)
}
