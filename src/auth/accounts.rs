//! Signing up, logging in, and creating admins.

use super::password;
use crate::audit::{self, Actor};
use crate::db::{self, users, DbPool};
use crate::domain::{Email, Password};
use crate::throttle::Throttles;
use anyhow::Context;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

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
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// The signed-in person, as much as pages need.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i32,
    pub email: String,
    pub is_admin: bool,
    /// Sessions carrying an older epoch were made before the last password change.
    pub session_epoch: i32,
}

impl From<users::User> for Account {
    fn from(u: users::User) -> Self {
        Account {
            id: u.id,
            email: u.email,
            is_admin: u.is_admin,
            session_epoch: u.session_epoch,
        }
    }
}

pub async fn sign_up(
    pool: &DbPool,
    cost: u32,
    email: Email,
    password: Password,
    now: chrono::NaiveDateTime,
) -> Result<Account, AccountError> {
    let hash = password::hash(password.expose().to_owned(), cost).await?;
    db::run(pool, move |conn| {
        let new = users::NewUser {
            email: email.as_str(),
            password_hash: &hash,
            is_admin: false,
            created_at: now,
        };
        match users::insert(conn, &new) {
            Ok(user) => Ok(user.into()),
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                Err(AccountError::EmailTaken)
            }
            Err(e) => Err(anyhow::Error::from(e).context("inserting a user").into()),
        }
    })
    .await
}

/// A login attempt: what was typed, and from where.
pub struct LoginAttempt {
    pub email: String,
    pub password: String,
    pub ip: Option<String>,
}

/// Checks an email and password. Always costs one bcrypt verification, known email or not,
/// unless the account or the address has failed too often lately: then it is refused before
/// any work, with the same answer for accounts that exist and accounts that do not.
pub async fn log_in(
    pool: &DbPool,
    cost: u32,
    throttles: &Throttles,
    attempt: LoginAttempt,
    now: chrono::NaiveDateTime,
) -> Result<Account, AccountError> {
    let typed: String = attempt
        .email
        .trim()
        .to_lowercase()
        .chars()
        .take(Email::MAX_LEN)
        .collect();
    let address = attempt.ip.clone().unwrap_or_default();
    throttles
        .login_account
        .check(&typed, now)
        .map_err(AccountError::Throttled)?;
    throttles
        .login_address
        .check(&address, now)
        .map_err(AccountError::Throttled)?;
    let user = match Email::parse(&attempt.email) {
        Ok(email) => {
            db::run(pool, move |conn| {
                users::find_by_email(conn, email.as_str()).context("looking up a user by email")
            })
            .await?
        }
        Err(_) => None,
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let account = match (
        password::verify(attempt.password, stored, cost).await?,
        user,
    ) {
        (true, Some(user)) => Account::from(user),
        _ => {
            throttles.login_account.fail(&typed, now);
            throttles.login_address.fail(&address, now);
            return Err(AccountError::InvalidCredentials);
        }
    };
    throttles.login_account.clear(&typed);
    let actor = Actor::new(&account, attempt.ip);
    db::run(pool, move |conn| {
        audit::record(
            conn,
            &actor,
            "account.signed_in",
            None,
            None,
            "Signed in",
            now,
        )
        .context("recording a sign-in")
    })
    .await?;
    Ok(account)
}

/// Changes the password after checking the current one, which ends every other session.
/// Returns the account with its new session epoch, for the session that made the change.
pub async fn change_password(
    pool: &DbPool,
    cost: u32,
    account: Account,
    current: String,
    new: Password,
    ip: Option<String>,
    now: chrono::NaiveDateTime,
) -> Result<Account, AccountError> {
    let id = account.id;
    let stored = db::run(pool, move |conn| {
        users::find(conn, id).context("loading a user")
    })
    .await?
    .map(|u| u.password_hash);
    if !password::verify(current, stored, cost).await? {
        return Err(AccountError::InvalidCredentials);
    }
    let hash = password::hash(new.expose().to_owned(), cost).await?;
    let actor = Actor::new(&account, ip);
    let epoch = db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let epoch = users::change_password(conn, id, &hash)?;
            audit::record(
                conn,
                &actor,
                "account.password_changed",
                None,
                None,
                "Changed the password",
                now,
            )?;
            Ok::<_, diesel::result::Error>(epoch)
        })
        .context("changing a password")
    })
    .await?;
    Ok(Account {
        session_epoch: epoch,
        ..account
    })
}

/// Creates an admin account, or makes an existing account an admin with the given password.
pub async fn create_admin(
    pool: &DbPool,
    cost: u32,
    email: Email,
    password: Password,
    now: chrono::NaiveDateTime,
) -> Result<Account, AccountError> {
    let hash = password::hash(password.expose().to_owned(), cost).await?;
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let user = match users::find_by_email(conn, email.as_str())? {
                Some(user) => {
                    users::promote_to_admin(conn, user.id, &hash)?;
                    users::find(conn, user.id)?.ok_or(DieselError::NotFound)?
                }
                None => users::insert(
                    conn,
                    &users::NewUser {
                        email: email.as_str(),
                        password_hash: &hash,
                        is_admin: true,
                        created_at: now,
                    },
                )?,
            };
            Ok::<_, DieselError>(user.into())
        })
        .map_err(|e| anyhow::Error::from(e).context("creating an admin").into())
    })
    .await
}

/// The account behind a session's user id, if it still exists.
/// The account with this id, on a connection the caller already holds.
pub fn find_in(conn: &mut crate::db::Conn, id: i32) -> anyhow::Result<Option<Account>> {
    users::find(conn, id)
        .map(|u| u.map(Account::from))
        .context("loading the signed-in user")
}
