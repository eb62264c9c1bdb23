//! Signing up, logging in, and creating admins.

use super::password;
use crate::db::{self, users, DbPool};
use crate::domain::{Email, Password};
use anyhow::Context;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("An account with this email already exists. Log in instead.")]
    EmailTaken,
    /// Deliberately the same for an unknown email and a wrong password.
    #[error("Incorrect email or password.")]
    InvalidCredentials,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// The signed-in person, as much as pages need.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i32,
    pub email: String,
    pub is_admin: bool,
}

impl From<users::User> for Account {
    fn from(u: users::User) -> Self {
        Account {
            id: u.id,
            email: u.email,
            is_admin: u.is_admin,
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

/// Checks an email and password. Always costs one bcrypt verification, known email or not.
pub async fn log_in(
    pool: &DbPool,
    cost: u32,
    email: &str,
    password: String,
) -> Result<Account, AccountError> {
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
    if password::verify(password, stored, cost).await? {
        user.map(Account::from)
            .ok_or(AccountError::InvalidCredentials)
    } else {
        Err(AccountError::InvalidCredentials)
    }
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
        conn.immediate_transaction(|conn| {
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
pub async fn find(pool: &DbPool, id: i32) -> Result<Option<Account>, AccountError> {
    db::run(pool, move |conn| {
        users::find(conn, id)
            .map(|u| u.map(Account::from))
            .context("loading the signed-in user")
            .map_err(AccountError::from)
    })
    .await
}
