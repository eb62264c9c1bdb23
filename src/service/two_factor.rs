//! Two-factor authentication: an authenticator app, recovery codes, the second step of log-in,
//! and re-authentication before sensitive actions ("sudo mode").

use crate::db::{self, two_factor, users, DbPool};
use crate::domain::{
    Account, Authenticator, AuthenticatorKeys, RecoveryCode, RequestOrigin, SecondFactorCode,
    TotpCode,
};
use crate::infra::throttle::Throttles;
use crate::service::accounts::{self, AccountError, SignedIn};
use crate::service::audit::{self, Actor};
use crate::service::sessions;
use anyhow::Context;
use chrono::{NaiveDateTime, TimeDelta};
use diesel::result::Error as DieselError;
use secrecy::{ExposeSecret, SecretString};

/// How long after giving the password or a second factor a session may take sensitive actions
/// without giving one again.
pub const SUDO_WINDOW: TimeDelta = TimeDelta::minutes(15);
/// How many recovery codes an account gets at a time.
pub const RECOVERY_CODES: usize = 10;

/// Whether the session must give the password or a second factor again before a sensitive
/// action.
pub fn needs_reauthentication(account: &Account, now: NaiveDateTime) -> bool {
    account
        .authenticated_at
        .is_none_or(|at| now - at > SUDO_WINDOW)
}

/// What the Security page shows.
pub struct SecurityOverview {
    pub two_factor_since: Option<NaiveDateTime>,
    pub has_authenticator: bool,
    pub recovery_codes_left: i64,
    /// The account's latest security events (sign-ins, factors, passwords).
    pub activity: Vec<db::audit::AuditEvent>,
}

pub async fn overview(pool: &DbPool, user_id: i32) -> anyhow::Result<SecurityOverview> {
    db::run(pool, move |conn| {
        let row = two_factor::find(conn, user_id)?.ok_or(DieselError::NotFound)?;
        Ok::<_, anyhow::Error>(SecurityOverview {
            two_factor_since: row.two_factor_since,
            has_authenticator: row.totp_seed.is_some(),
            recovery_codes_left: two_factor::recovery_codes_left(conn, user_id)?,
            activity: db::audit::recent_for_account(conn, user_id, 20)?,
        })
    })
    .await
    .context("reading the account's two-factor state")
}

/// A new authenticator to set up: its random seed (kept by the browser session that shows it,
/// encrypted in its cookie, so nobody else's session can plant a key the owner then scans) and
/// the authenticator it makes.
pub fn new_authenticator(keys: &AuthenticatorKeys, account: &Account) -> (String, Authenticator) {
    let seed = AuthenticatorKeys::new_seed();
    let authenticator = keys.authenticator(&seed, &account.email);
    (seed, authenticator)
}

/// Confirms the authenticator of `seed` (the one the page showed) with a current code; it
/// replaces any earlier one. Turning two-factor authentication on also creates the recovery
/// codes, returned to be shown once; a replaced authenticator leaves them as they are (`None`).
pub async fn confirm_authenticator(
    pool: &DbPool,
    keys: &AuthenticatorKeys,
    throttles: &Throttles,
    account: &Account,
    (seed, code): (String, TotpCode),
    ip: Option<String>,
    now: NaiveDateTime,
) -> Result<Option<Vec<String>>, AccountError> {
    // Counted like any code, and never cleared here: the allowance is the log-in's too.
    let _attempt = throttles
        .second_factor
        .reserve(&throttle_key(account.id), now)
        .await?;
    let Some(step) = keys
        .authenticator(&seed, &account.email)
        .matching_step(&code, unix(now))
    else {
        return Err(AccountError::InvalidCode);
    };
    let codes = new_codes();
    let hashes: Vec<String> = codes.iter().map(|(_, code)| code.hash()).collect();
    let (user_id, actor) = (account.id, Actor::new(account, ip));
    let turned_on = db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let turned_on = two_factor::set_authenticator(conn, user_id, &seed, step, now)?;
            let detail = if turned_on {
                two_factor::replace_recovery_codes(conn, user_id, &hashes, now)?;
                "Turned on two-factor authentication with an authenticator app"
            } else {
                "Set up a new authenticator app"
            };
            audit::record(
                conn,
                &actor,
                "account.authenticator_added",
                None,
                None,
                detail,
                now,
            )?;
            anyhow::Ok(turned_on)
        })
        .context("confirming an authenticator")
    })
    .await?;
    Ok(turned_on.then(|| shown(codes)))
}

/// The recovery codes as shown once.
pub fn shown(codes: Vec<(String, RecoveryCode)>) -> Vec<String> {
    codes.into_iter().map(|(shown, _)| shown).collect()
}

/// Ten fresh recovery codes: as shown, and as stored.
pub fn new_codes() -> Vec<(String, RecoveryCode)> {
    (0..RECOVERY_CODES)
        .map(|_| RecoveryCode::generate())
        .collect()
}

/// The seconds since the epoch of `now`, for the authenticator's steps.
fn unix(now: NaiveDateTime) -> u64 {
    u64::try_from(now.and_utc().timestamp()).unwrap_or(0)
}

fn throttle_key(user_id: i32) -> String {
    format!("user:{user_id}")
}

/// Which factor a code proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorUsed {
    Authenticator,
    RecoveryCode,
}

/// Checks a second-factor code of the account and uses it up: an authenticator code is good
/// once (its step and every earlier one are spent), a recovery code once. Throttled per account
/// like passwords; each attempt is reserved before it is checked.
pub async fn check_code(
    pool: &DbPool,
    keys: &AuthenticatorKeys,
    throttles: &Throttles,
    account: &Account,
    code: SecondFactorCode,
    ip: Option<String>,
    now: NaiveDateTime,
) -> Result<FactorUsed, AccountError> {
    let key = throttle_key(account.id);
    let attempt = throttles.second_factor.reserve(&key, now).await?;
    let checked = check_code_unthrottled(pool, keys, account, code, ip, now).await;
    match checked {
        Ok(used) => {
            throttles.second_factor.clear(&key).await;
            Ok(used)
        }
        // Counted: the reservation stays.
        Err(AccountError::InvalidCode) => Err(AccountError::InvalidCode),
        // Not a guess that was checked (a database error): not counted.
        Err(e) => {
            attempt.release().await;
            Err(e)
        }
    }
}

async fn check_code_unthrottled(
    pool: &DbPool,
    keys: &AuthenticatorKeys,
    account: &Account,
    code: SecondFactorCode,
    ip: Option<String>,
    now: NaiveDateTime,
) -> Result<FactorUsed, AccountError> {
    let user_id = account.id;
    let actor = Actor::new(account, ip);
    let seed = match &code {
        SecondFactorCode::Totp(_) => db::run(pool, move |conn| {
            anyhow::Ok(two_factor::find(conn, user_id)?)
        })
        .await
        .context("reading the account's authenticator")?
        .and_then(|row| row.totp_seed),
        SecondFactorCode::Recovery(_) => None,
    };
    let used = match code {
        SecondFactorCode::Totp(code) => {
            let step = seed.and_then(|seed| {
                keys.authenticator(&seed, &account.email)
                    .matching_step(&code, unix(now))
            });
            let Some(step) = step else {
                return Err(AccountError::InvalidCode);
            };
            let accepted = db::run(pool, move |conn| {
                anyhow::Ok(two_factor::accept_step(conn, user_id, step)?)
            })
            .await
            .context("accepting an authenticator code")?;
            accepted.then_some(FactorUsed::Authenticator)
        }
        SecondFactorCode::Recovery(code) => {
            let hash = code.hash();
            let accepted = db::run(pool, move |conn| {
                db::write_transaction(conn, |conn| {
                    if !two_factor::use_recovery_code(conn, user_id, &hash, now)? {
                        return Ok(false);
                    }
                    let left = two_factor::recovery_codes_left(conn, user_id)?;
                    audit::record(
                        conn,
                        &actor,
                        "account.recovery_code_used",
                        None,
                        None,
                        &format!("Used a recovery code ({left} left)"),
                        now,
                    )?;
                    Ok::<_, anyhow::Error>(true)
                })
            })
            .await
            .context("using a recovery code")?;
            accepted.then_some(FactorUsed::RecoveryCode)
        }
    };
    used.ok_or(AccountError::InvalidCode)
}

/// The second step of log-in: the password was right, now the code. Starts the session.
pub async fn log_in_with_code(
    pool: &DbPool,
    keys: &AuthenticatorKeys,
    throttles: &Throttles,
    user_id: i32,
    code: SecondFactorCode,
    origin: RequestOrigin,
    now: NaiveDateTime,
) -> Result<SignedIn, AccountError> {
    let account: Account = db::run(pool, move |conn| anyhow::Ok(users::find(conn, user_id)?))
        .await
        .context("reading the account logging in")?
        .ok_or(AccountError::InvalidCredentials)?
        .into();
    let used = check_code(
        pool,
        keys,
        throttles,
        &account,
        code,
        origin.ip.clone(),
        now,
    )
    .await?;
    let detail = match used {
        FactorUsed::Authenticator => "Signed in with an authenticator code",
        FactorUsed::RecoveryCode => "Signed in with a recovery code",
    };
    accounts::record_sign_in(pool, &account, origin.ip.clone(), detail, now).await?;
    let session = sessions::start(pool, account.id, origin, now).await?;
    Ok(SignedIn { account, session })
}

/// Replaces the account's recovery codes; the new ones are returned to be shown once.
pub async fn new_recovery_codes(
    pool: &DbPool,
    account: &Account,
    ip: Option<String>,
    now: NaiveDateTime,
) -> anyhow::Result<Option<Vec<String>>> {
    let codes = new_codes();
    let hashes: Vec<String> = codes.iter().map(|(_, code)| code.hash()).collect();
    let (user_id, actor) = (account.id, Actor::new(account, ip));
    let replaced = db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let on = two_factor::find(conn, user_id)?.and_then(|row| row.two_factor_since);
            if on.is_none() {
                return Ok(false);
            }
            two_factor::replace_recovery_codes(conn, user_id, &hashes, now)?;
            audit::record(
                conn,
                &actor,
                "account.recovery_codes_replaced",
                None,
                None,
                "Generated new recovery codes; the earlier ones stopped working",
                now,
            )?;
            Ok::<_, anyhow::Error>(true)
        })
    })
    .await
    .context("replacing recovery codes")?;
    Ok(replaced.then(|| shown(codes)))
}

/// Turning two-factor authentication off: the password and a current second factor, both.
pub struct TurnOff {
    pub password: SecretString,
    pub code: SecondFactorCode,
    pub ip: Option<String>,
}

/// Turns two-factor authentication off after checking the password and a second factor.
pub async fn turn_off(
    pool: &DbPool,
    bcrypt: &crate::infra::hashing::Bcrypt,
    keys: &AuthenticatorKeys,
    throttles: &Throttles,
    account: &Account,
    turn_off: TurnOff,
    now: NaiveDateTime,
) -> Result<(), AccountError> {
    let TurnOff { password, code, ip } = turn_off;
    accounts::check_own_password(
        pool,
        bcrypt,
        throttles,
        account,
        password.expose_secret().to_owned(),
        now,
    )
    .await?;
    check_code(pool, keys, throttles, account, code, ip.clone(), now).await?;
    let (user_id, actor) = (account.id, Actor::new(account, ip));
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            two_factor::turn_off(conn, user_id)?;
            audit::record(
                conn,
                &actor,
                "account.two_factor_disabled",
                None,
                None,
                "Turned off two-factor authentication",
                now,
            )
        })
        .context("turning off two-factor authentication")
    })
    .await?;
    Ok(())
}

/// `keyturn turn-off-two-factor`: for a person who lost every second factor and recovery
/// code, an operator at the terminal turns two-factor authentication off and ends every
/// session of the account. `false` when no account has the address.
pub async fn turn_off_by_operator(
    pool: &DbPool,
    email: crate::domain::Email,
    now: NaiveDateTime,
) -> anyhow::Result<bool> {
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let Some(user) = users::find_by_email(conn, email.as_str())? else {
                return Ok(false);
            };
            two_factor::turn_off(conn, user.id)?;
            db::sessions::delete_all_for_user(conn, user.id, None)?;
            let actor = Actor {
                user_id: Some(user.id),
                email: user.email.clone(),
                is_admin: user.is_admin,
                ip: None,
                api_token: None,
            };
            audit::record(
                conn,
                &actor,
                "account.two_factor_disabled",
                None,
                None,
                "Two-factor authentication turned off by an operator (keyturn turn-off-two-factor); every session ended",
                now,
            )?;
            Ok::<_, DieselError>(true)
        })
        .context("turning off two-factor authentication")
    })
    .await
}

/// How the session proves itself again before a sensitive action.
pub enum Proof {
    Password(SecretString),
    Code(SecondFactorCode),
}

/// Re-authentication ("sudo mode"): the password, or a second factor of an account that has
/// one (given from the address `ip`), restarts the session's 15 minutes.
pub async fn reauthenticate(
    pool: &DbPool,
    bcrypt: &crate::infra::hashing::Bcrypt,
    keys: &AuthenticatorKeys,
    throttles: &Throttles,
    account: &Account,
    (proof, ip): (Proof, Option<String>),
    now: NaiveDateTime,
) -> Result<(), AccountError> {
    let detail = match proof {
        Proof::Password(password) => {
            accounts::check_own_password(
                pool,
                bcrypt,
                throttles,
                account,
                password.expose_secret().to_owned(),
                now,
            )
            .await?;
            "Confirmed access with the password"
        }
        Proof::Code(code) => {
            match check_code(pool, keys, throttles, account, code, ip.clone(), now).await? {
                FactorUsed::Authenticator => "Confirmed access with an authenticator code",
                FactorUsed::RecoveryCode => "Confirmed access with a recovery code",
            }
        }
    };
    let Some(session_id) = account.session_id else {
        return Err(AccountError::InvalidCredentials);
    };
    let actor = Actor::new(account, ip);
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            db::sessions::reauthenticated(conn, session_id, now)?;
            audit::record(
                conn,
                &actor,
                "account.reauthenticated",
                None,
                None,
                detail,
                now,
            )
        })
        .context("confirming access")
    })
    .await?;
    Ok(())
}
