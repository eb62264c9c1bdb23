//! Signing up, logging in, and creating admins.

use crate::db::{self, users, DbPool};
use crate::domain::{Account, Email, MailedLink, OpaqueToken, Password, RequestOrigin, TokenKind};
use crate::infra::hashing::{self, Bcrypt, Lane};
use crate::infra::throttle::{ThrottleError, Throttles};
use crate::service::audit::{self, Actor};
use crate::service::notifications::Notifier;
use crate::service::{sessions, teams};
use anyhow::Context;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("An account with this email already exists. Log in instead.")]
    EmailTaken,
    /// Deliberately the same for an unknown email and a wrong password.
    #[error("Incorrect email or password.")]
    InvalidCredentials,
    /// Too many failed logins for this account or address; retry after this many seconds.
    #[error("Too many failed attempts. Try again in {} minutes.", (.0 + 59) / 60)]
    Throttled(i64),
    /// A second-factor code that is wrong, used already, or of no factor the account has.
    #[error("That code is not correct, or it was used already.")]
    InvalidCode,
    /// Too many mailed links asked for this email or from this address.
    #[error("Too many emails asked for. Try again in {} minutes.", (.0 + 59) / 60)]
    TooManyMails(i64),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A signed-in account and the server-side session just started for it.
pub struct SignedIn {
    pub account: Account,
    pub session: OpaqueToken,
}

impl From<ThrottleError> for AccountError {
    fn from(e: ThrottleError) -> Self {
        match e {
            ThrottleError::Exceeded(wait) => AccountError::Throttled(wait),
            ThrottleError::Unexpected(e) => AccountError::Unexpected(e),
        }
    }
}

/// Creates an account and signs it in. Every attempt counts against the address's sign-up
/// allowance; an email already taken is answered before any bcrypt, so a taken address costs
/// nothing, and the hash runs in the sign-up lane (`hashing::Lane::SignUp`), which a flood of
/// sign-ups can fill without delaying log-ins or clients.
pub async fn sign_up(
    pool: &DbPool,
    bcrypt: &Bcrypt,
    throttles: &Throttles,
    notifier: &Arc<Notifier>,
    (email, password): (Email, Password),
    origin: RequestOrigin,
    now: chrono::NaiveDateTime,
) -> Result<SignedIn, AccountError> {
    // Kept whatever the outcome: sign-ups are counted, not only failed ones.
    let _counted = throttles
        .signup_address
        .reserve(origin.address_key(), now)
        .await?;
    let address = email.as_str().to_owned();
    let taken = db::run(pool, move |conn| {
        users::find_by_email(conn, &address).context("looking up an email")
    })
    .await?
    .is_some();
    if taken {
        return Err(AccountError::EmailTaken);
    }
    let hash = hashing::hash(bcrypt, password.expose().to_owned(), Lane::SignUp).await?;
    // With mail, the address is proven by a mailed link; without, it cannot be, and counts.
    let mails = notifier.mails();
    let (account, link): (Account, _) = db::run(pool, move |conn| {
        let new = users::NewUser {
            email: email.as_str(),
            password_hash: &hash,
            is_admin: false,
            created_at: now,
            email_verified_at: (!mails).then_some(now),
        };
        // The account with its verification link, or with the teams it was invited to.
        let created = db::write_transaction(conn, |conn| {
            let user = users::insert(conn, &new)?;
            let link = if mails {
                Some(new_verification_in(conn, user.id, now)?)
            } else {
                teams::accept_invitations(conn, user.id, &user.email, now)?;
                None
            };
            Ok((user, link))
        });
        match created {
            Ok((user, link)) => Ok((user.into(), link)),
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                Err(AccountError::EmailTaken)
            }
            Err(e) => Err(anyhow::Error::from(e).context("inserting a user").into()),
        }
    })
    .await?;
    if let Some(link) = link {
        notifier.mail_account_link(account.email.clone(), link);
    }
    let session = sessions::start(pool, account.id, origin, now).await?;
    Ok(SignedIn { account, session })
}

/// How long a verification link works.
pub const VERIFY_EMAIL_TTL: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// Records a new verification link for the account (withdrawing earlier ones); on the caller's
/// connection, so sign-up records it with the account.
pub fn new_verification_in(
    conn: &mut db::Conn,
    user_id: i32,
    now: chrono::NaiveDateTime,
) -> diesel::QueryResult<MailedLink> {
    let token = OpaqueToken::generate(TokenKind::AccountLink);
    db::account_links::replace(
        conn,
        user_id,
        db::account_links::VERIFY_EMAIL,
        &token.hash(),
        now,
        now + VERIFY_EMAIL_TTL,
    )?;
    Ok(MailedLink::VerifyEmail(token))
}

/// A login attempt: what was typed, and from where.
pub struct LoginAttempt {
    pub email: String,
    pub password: String,
    pub origin: RequestOrigin,
}

/// The throttle key of an email as typed: what the account's failures are counted under,
/// whether or not the account exists.
pub fn account_key(typed: &str) -> String {
    typed
        .trim()
        .to_lowercase()
        .chars()
        .take(Email::MAX_LEN)
        .collect()
}

/// Checks an email and password and starts a session. Always costs one bcrypt verification,
/// known email or not, unless the account or the address has used up its attempts: the attempt
/// is reserved before the bcrypt, so concurrent guesses count while they are in flight, and
/// refusals are the same for accounts that exist and accounts that do not.
pub async fn log_in(
    pool: &DbPool,
    bcrypt: &Bcrypt,
    throttles: &Throttles,
    attempt: LoginAttempt,
    now: chrono::NaiveDateTime,
) -> Result<LoggedIn, AccountError> {
    let typed = account_key(&attempt.email);
    let for_account = throttles.password_account.reserve(&typed, now).await?;
    let for_address = match throttles
        .password_address
        .reserve(attempt.origin.address_key(), now)
        .await
    {
        Ok(reservation) => reservation,
        Err(e) => {
            for_account.release().await;
            return Err(e.into());
        }
    };
    let checked = check_password(pool, bcrypt, &attempt.email, attempt.password).await;
    let account = match checked {
        Ok(Some(account)) => account,
        // Counted: both reservations stay.
        Ok(None) => return Err(AccountError::InvalidCredentials),
        // Not a guess that was checked (a full bcrypt queue, a database error): not counted.
        Err(e) => {
            for_account.release().await;
            for_address.release().await;
            return Err(e);
        }
    };
    // The right password proves the owner: the account's failures are forgotten.
    throttles.password_account.clear(&typed).await;
    for_address.release().await;
    if account.two_factor {
        let password_stamp = password_stamp(pool, account.id)
            .await?
            .ok_or(AccountError::InvalidCredentials)?;
        return Ok(LoggedIn::SecondFactorNeeded {
            user_id: account.id,
            password_stamp,
        });
    }
    record_sign_in(pool, &account, attempt.origin.ip.clone(), "Signed in", now).await?;
    let session = sessions::start(pool, account.id, attempt.origin, now).await?;
    Ok(LoggedIn::SignedIn(SignedIn { account, session }))
}

/// What a right password leads to.
pub enum LoggedIn {
    SignedIn(SignedIn),
    /// The account has two-factor authentication: no session until a code is given.
    SecondFactorNeeded {
        user_id: i32,
        /// Tells whether the password has changed since: a log-in half done with an old
        /// password cannot be finished after a reset.
        password_stamp: String,
    },
}

/// A short digest of the account's stored password hash: it changes with every new password.
/// Kept in the cookie of a log-in waiting for its second factor (the hash itself never is).
pub async fn password_stamp(pool: &DbPool, user_id: i32) -> anyhow::Result<Option<String>> {
    use sha2::{Digest, Sha256};
    let user = db::run(pool, move |conn| {
        users::find(conn, user_id).context("reading an account")
    })
    .await?;
    Ok(user.map(|user| {
        Sha256::digest(format!("keyturn password stamp v1:{}", user.password_hash))
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect()
    }))
}

/// Records a completed sign-in in the audit log.
pub async fn record_sign_in(
    pool: &DbPool,
    account: &Account,
    ip: Option<String>,
    detail: &'static str,
    now: chrono::NaiveDateTime,
) -> Result<(), AccountError> {
    let actor = Actor::new(account, ip);
    db::run(pool, move |conn| {
        audit::record(conn, &actor, "account.signed_in", None, None, detail, now)
            .context("recording a sign-in")
    })
    .await?;
    Ok(())
}

/// The account if `password` is its password; one bcrypt either way.
async fn check_password(
    pool: &DbPool,
    bcrypt: &Bcrypt,
    email: &str,
    password: String,
) -> Result<Option<Account>, AccountError> {
    let user = match Email::parse(email) {
        Ok(email) => {
            db::run(pool, move |conn| {
                users::find_by_email(conn, email.as_str()).context("looking up a user by email")
            })
            .await?
        }
        Err(_) => None,
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    Ok(
        match (hashing::verify(bcrypt, password, stored).await?, user) {
            (true, Some(user)) => Some(Account::from(user)),
            _ => None,
        },
    )
}

/// What the change-password form asked for, and from where.
pub struct PasswordChange {
    pub current: String,
    pub new: Password,
    pub ip: Option<String>,
}

/// Changes the password after checking the current one (a check throttled like log-in, under
/// the same per-account allowance), and ends every other session of the account.
pub async fn change_password(
    pool: &DbPool,
    bcrypt: &Bcrypt,
    throttles: &Throttles,
    account: Account,
    change: PasswordChange,
    now: chrono::NaiveDateTime,
) -> Result<(), AccountError> {
    let PasswordChange { current, new, ip } = change;
    check_own_password(pool, bcrypt, throttles, &account, current, now).await?;
    let hash = hashing::hash(bcrypt, new.expose().to_owned(), Lane::Interactive).await?;
    let actor = Actor::new(&account, ip);
    let (id, keep) = (account.id, account.session_id);
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            users::change_password(conn, id, &hash)?;
            db::sessions::delete_all_for_user(conn, id, keep)?;
            audit::record(
                conn,
                &actor,
                "account.password_changed",
                None,
                None,
                "Changed the password",
                now,
            )
        })
        .context("changing a password")
    })
    .await?;
    Ok(())
}

/// Checks the signed-in account's own password, throttled like log-in under the same
/// per-account allowance.
pub async fn check_own_password(
    pool: &DbPool,
    bcrypt: &Bcrypt,
    throttles: &Throttles,
    account: &Account,
    password: String,
    now: chrono::NaiveDateTime,
) -> Result<(), AccountError> {
    let key = account_key(&account.email);
    let reservation = throttles.password_account.reserve(&key, now).await?;
    match check_password(pool, bcrypt, &account.email, password).await {
        Ok(Some(_)) => {
            throttles.password_account.clear(&key).await;
            Ok(())
        }
        Ok(None) => Err(AccountError::InvalidCredentials),
        Err(e) => {
            reservation.release().await;
            Err(e)
        }
    }
}

/// Without mail no address can be proven, so every address counts as verified: accounts that
/// signed up while mail was configured and never opened their link are verified now (and join
/// the teams they were invited to). Run at start-up when mail is not configured.
pub async fn verify_all_without_mail(
    pool: &DbPool,
    now: chrono::NaiveDateTime,
) -> anyhow::Result<usize> {
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let waiting = users::unverified(conn)?;
            for user in &waiting {
                users::mark_email_verified(conn, user.id, now)?;
                teams::accept_invitations(conn, user.id, &user.email, now)?;
            }
            Ok::<_, DieselError>(waiting.len())
        })
        .context("counting unproven addresses as verified")
    })
    .await
}

/// Creates an admin account, or makes an existing account an admin with the given password.
/// Either way every session of the account ends: whoever was signed in with the old password
/// is not signed in with the new one.
pub async fn create_admin(
    pool: &DbPool,
    bcrypt: &Bcrypt,
    email: Email,
    password: Password,
    now: chrono::NaiveDateTime,
) -> Result<Account, AccountError> {
    let hash = hashing::hash(bcrypt, password.expose().to_owned(), Lane::Interactive).await?;
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let user = match users::find_by_email(conn, email.as_str())? {
                Some(user) => {
                    users::promote_to_admin(conn, user.id, &hash)?;
                    // The operator at the terminal vouches for the address.
                    if user.email_verified_at.is_none() {
                        users::mark_email_verified(conn, user.id, now)?;
                        teams::accept_invitations(conn, user.id, &user.email, now)?;
                    }
                    db::sessions::delete_all_for_user(conn, user.id, None)?;
                    users::find(conn, user.id)?.ok_or(DieselError::NotFound)?
                }
                None => {
                    let user = users::insert(
                        conn,
                        &users::NewUser {
                            email: email.as_str(),
                            password_hash: &hash,
                            is_admin: true,
                            created_at: now,
                            // The operator at the terminal vouches for the address.
                            email_verified_at: Some(now),
                        },
                    )?;
                    teams::accept_invitations(conn, user.id, &user.email, now)?;
                    user
                }
            };
            Ok::<_, DieselError>(user.into())
        })
        .map_err(|e| anyhow::Error::from(e).context("creating an admin").into())
    })
    .await
}
