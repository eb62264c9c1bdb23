//! Passkeys (WebAuthn, with webauthn-rs): registering them, and using one as the second step of
//! log-in or to log in without a password. Each ceremony's challenge is kept in the database
//! and taken once, so a replayed answer finds nothing, on any instance.

use crate::db::{self, passkeys, users, DbPool};
use crate::domain::{derived_hmac, random_base62, Account, Email, OpaqueToken, PasskeyName};
use crate::service::audit::{self, Actor};
use crate::service::two_factor;
use anyhow::Context;
use chrono::{NaiveDateTime, TimeDelta};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use webauthn_rs::prelude::{
    CreationChallengeResponse, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Url, Uuid,
    Webauthn, WebauthnBuilder,
};

/// How long a ceremony may take, from the challenge to the answer.
const CEREMONY_TTL: TimeDelta = TimeDelta::minutes(5);

#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    #[error("Passkeys work when Keyturn is reached at a host name (KEYTURN_PUBLIC_URL), such as http://localhost:8080, not an IP address.")]
    Unavailable,
    /// The same answer whatever failed: an unknown, used or expired ceremony, a bad signature,
    /// somebody else's passkey.
    #[error("The passkey could not be verified. Try again.")]
    Refused,
    #[error("This account has no passkey.")]
    NoPasskey,
    #[error("That passkey was not found.")]
    NotFound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// What a ceremony is for; an answer is accepted only for the ceremony it was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    Register,
    SignIn,
    SecondFactor,
}

impl Ceremony {
    fn as_str(self) -> &'static str {
        match self {
            Ceremony::Register => "register",
            Ceremony::SignIn => "sign_in",
            Ceremony::SecondFactor => "second_factor",
        }
    }
}

/// The relying party: this server, as browsers and authenticators see it.
pub struct Passkeys {
    webauthn: Option<Webauthn>,
    /// Makes the stand-in credential offered for an email without passkeys, so the answer looks
    /// the same whether or not the account exists.
    decoys: Hmac<Sha256>,
}

impl std::fmt::Debug for Passkeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Passkeys {{ available: {} }}", self.webauthn.is_some())
    }
}

impl Passkeys {
    /// The relying party of `public_url`. WebAuthn needs a host name: a loopback address is
    /// served as `localhost` (browsers treat it as secure), any other address has no passkeys.
    pub fn new(public_url: &str, master_key: &[u8]) -> Self {
        let decoys = derived_hmac(master_key, b"keyturn passkey decoys v1");
        let webauthn = relying_party(public_url);
        if webauthn.is_none() {
            tracing::info!(
                public_url,
                "passkeys are off: KEYTURN_PUBLIC_URL names no host (try http://localhost:8080)"
            );
        }
        Passkeys { webauthn, decoys }
    }

    pub fn available(&self) -> bool {
        self.webauthn.is_some()
    }

    fn webauthn(&self) -> Result<&Webauthn, PasskeyError> {
        self.webauthn.as_ref().ok_or(PasskeyError::Unavailable)
    }
}

fn relying_party(public_url: &str) -> Option<Webauthn> {
    let mut origin = Url::parse(public_url).ok()?;
    let loopback = matches!(
        origin.host(),
        Some(url::Host::Ipv4(ip)) if ip.is_loopback()
    ) || matches!(origin.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
    if loopback {
        origin.set_host(Some("localhost")).ok()?;
    }
    let rp_id = origin.domain()?.to_owned();
    let localhost = rp_id == "localhost";
    WebauthnBuilder::new(&rp_id, &origin)
        .ok()?
        .rp_name("Keyturn")
        // Development servers move between ports; a public host name keeps its one origin.
        .allow_any_port(localhost)
        .build()
        .ok()
}

/// A ceremony's state as stored: the account's user handle and webauthn-rs's state.
#[derive(Serialize, Deserialize)]
struct Registering {
    user_handle: String,
    state: PasskeyRegistration,
}

/// Stores a ceremony's state and returns the handle that finds it again.
fn remember(
    conn: &mut db::Conn,
    user_id: Option<i32>,
    ceremony: Ceremony,
    state: &impl Serialize,
    now: NaiveDateTime,
) -> anyhow::Result<String> {
    let handle = random_base62(43);
    let state = serde_json::to_string(state).context("storing a passkey ceremony")?;
    passkeys::insert_challenge(
        conn,
        &OpaqueToken::presented(&handle).hash(),
        user_id,
        ceremony.as_str(),
        &state,
        now + CEREMONY_TTL,
    )?;
    Ok(handle)
}

/// Takes a ceremony's account and state, once.
async fn take(
    pool: &DbPool,
    handle: &str,
    ceremony: Ceremony,
    now: NaiveDateTime,
) -> Result<(Option<i32>, String), PasskeyError> {
    let handle_hash = OpaqueToken::presented(handle).hash();
    db::run(pool, move |conn| {
        anyhow::Ok(passkeys::take_challenge(
            conn,
            &handle_hash,
            ceremony.as_str(),
            now,
        )?)
    })
    .await?
    .ok_or(PasskeyError::Refused)
}

/// How credential ids are stored and looked up: base64url without padding.
fn credential_key(id: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

/// Starts registering a passkey for the account: the options for the browser, and the
/// ceremony's handle.
pub async fn start_registration(
    relying_party: &Passkeys,
    pool: &DbPool,
    account: &Account,
    now: NaiveDateTime,
) -> Result<(String, CreationChallengeResponse), PasskeyError> {
    let webauthn = relying_party.webauthn()?.clone();
    let (user_id, email) = (account.id, account.email.clone());
    db::run(pool, move |conn| {
        let existing = passkeys::list_for_user(conn, user_id)?;
        let user_handle = existing
            .first()
            .map(|p| p.user_handle.clone())
            .unwrap_or_else(|| Uuid::from_bytes(rand::random()).to_string());
        let uuid = Uuid::parse_str(&user_handle).context("reading a user handle")?;
        let exclude = existing
            .iter()
            .filter_map(|p| serde_json::from_str::<Passkey>(&p.credential).ok())
            .map(|p| p.cred_id().clone())
            .collect();
        let (options, state) = webauthn
            .start_passkey_registration(uuid, &email, &email, Some(exclude))
            .map_err(|e| anyhow::anyhow!("starting a passkey registration: {e}"))?;
        let handle = remember(
            conn,
            Some(user_id),
            Ceremony::Register,
            &Registering { user_handle, state },
            now,
        )?;
        Ok((handle, options))
    })
    .await
}

/// Finishes a registration with the browser's answer (`credential`, JSON) and records the
/// passkey under `name`. A first passkey turns two-factor authentication on: the recovery
/// codes it then creates are returned, to be shown once.
pub async fn finish_registration(
    relying_party: &Passkeys,
    pool: &DbPool,
    account: &Account,
    (handle, credential): (&str, &str),
    name: PasskeyName,
    ip: Option<String>,
    now: NaiveDateTime,
) -> Result<Option<Vec<String>>, PasskeyError> {
    let webauthn = relying_party.webauthn()?;
    let (owner, state) = take(pool, handle, Ceremony::Register, now).await?;
    if owner != Some(account.id) {
        return Err(PasskeyError::Refused);
    }
    let registering: Registering =
        serde_json::from_str(&state).context("reading a passkey ceremony")?;
    let answer: RegisterPublicKeyCredential =
        serde_json::from_str(credential).map_err(|_| PasskeyError::Refused)?;
    let passkey = webauthn
        .finish_passkey_registration(&answer, &registering.state)
        .map_err(|_| PasskeyError::Refused)?;
    let credential_id = credential_key(passkey.cred_id().as_ref());
    let stored = serde_json::to_string(&passkey).context("storing a passkey")?;
    let (user_id, actor) = (account.id, Actor::new(account, ip));
    let codes = two_factor::new_codes();
    let hashes: Vec<String> = codes.iter().map(|(_, code)| code.hash()).collect();
    let turned_on = db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            passkeys::insert(
                conn,
                &passkeys::NewPasskey {
                    user_id,
                    name: name.as_str(),
                    credential_id: &credential_id,
                    credential: &stored,
                    user_handle: &registering.user_handle,
                    created_at: now,
                },
            )?;
            let turned_on = db::two_factor::turn_on(conn, user_id, now)?;
            if turned_on {
                db::two_factor::replace_recovery_codes(conn, user_id, &hashes, now)?;
            }
            audit::record(
                conn,
                &actor,
                "account.passkey_added",
                None,
                None,
                &format!("Added the passkey {}", name.as_str()),
                now,
            )?;
            Ok(turned_on)
        })
        .map_err(|e| match e {
            // The same authenticator twice.
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => PasskeyError::Refused,
            other => {
                PasskeyError::Unexpected(anyhow::Error::from(other).context("adding a passkey"))
            }
        })
    })
    .await?;
    Ok(turned_on.then(|| two_factor::shown(codes)))
}

/// Starts a log-in with a passkey of the account with `email` (typed, not trusted). An email
/// without an account or without passkeys gets options that look the same, with a stand-in
/// credential no authenticator has: the answer never says which emails have accounts.
pub async fn start_sign_in(
    relying_party: &Passkeys,
    pool: &DbPool,
    email: &str,
    now: NaiveDateTime,
) -> Result<(String, RequestChallengeResponse), PasskeyError> {
    let webauthn = relying_party.webauthn()?.clone();
    let user = match Email::parse(email) {
        Ok(email) => {
            db::run(pool, move |conn| {
                anyhow::Ok(users::find_by_email(conn, email.as_str())?)
            })
            .await?
        }
        Err(_) => None,
    };
    let user_id = user.map(|u| u.id);
    let started = match user_id {
        Some(user_id) => {
            start_authentication(&webauthn, pool, user_id, Ceremony::SignIn, now).await
        }
        None => Err(PasskeyError::NoPasskey),
    };
    match started {
        Err(PasskeyError::NoPasskey) => Ok(decoy(relying_party, &webauthn, email)?),
        other => other,
    }
}

/// Options for an email without passkeys: a real challenge nobody will answer, and a stand-in
/// credential id derived from the email, the same every time it is asked for.
fn decoy(
    relying_party: &Passkeys,
    webauthn: &Webauthn,
    email: &str,
) -> Result<(String, RequestChallengeResponse), PasskeyError> {
    let (mut options, _) = webauthn
        .start_discoverable_authentication()
        .map_err(|e| anyhow::anyhow!("starting a passkey log-in: {e}"))?;
    // Shaped like the options of an account's passkeys, field for field.
    options.public_key.extensions = None;
    options.mediation = None;
    let mut mac = relying_party.decoys.clone();
    mac.update(email.trim().to_lowercase().as_bytes());
    let id = mac.finalize().into_bytes().to_vec();
    options.public_key.allow_credentials = vec![webauthn_rs_proto::AllowCredentials {
        type_: "public-key".to_owned(),
        id,
        transports: None,
    }];
    Ok((random_base62(43), options))
}

/// Starts the second step of a log-in with one of the account's passkeys.
pub async fn start_second_factor(
    relying_party: &Passkeys,
    pool: &DbPool,
    user_id: i32,
    now: NaiveDateTime,
) -> Result<(String, RequestChallengeResponse), PasskeyError> {
    let webauthn = relying_party.webauthn()?.clone();
    start_authentication(&webauthn, pool, user_id, Ceremony::SecondFactor, now).await
}

async fn start_authentication(
    webauthn: &Webauthn,
    pool: &DbPool,
    user_id: i32,
    ceremony: Ceremony,
    now: NaiveDateTime,
) -> Result<(String, RequestChallengeResponse), PasskeyError> {
    let webauthn = webauthn.clone();
    db::run(pool, move |conn| {
        let keys: Vec<Passkey> = passkeys::list_for_user(conn, user_id)?
            .iter()
            .filter_map(|p| serde_json::from_str(&p.credential).ok())
            .collect();
        if keys.is_empty() {
            return Err(PasskeyError::NoPasskey);
        }
        let (mut options, state) = webauthn
            .start_passkey_authentication(&keys)
            .map_err(|e| anyhow::anyhow!("starting a passkey log-in: {e}"))?;
        // The stand-in credential of an email without passkeys has no transports to tell.
        for credential in &mut options.public_key.allow_credentials {
            credential.transports = None;
        }
        let handle = remember(conn, Some(user_id), ceremony, &state, now)?;
        Ok((handle, options))
    })
    .await
}

/// Checks the browser's answer to a log-in ceremony; the account it proves, whose passkey's
/// counter and Last used are updated.
pub async fn finish_authentication(
    relying_party: &Passkeys,
    pool: &DbPool,
    (handle, credential): (&str, &str),
    ceremony: Ceremony,
    now: NaiveDateTime,
) -> Result<Account, PasskeyError> {
    let webauthn = relying_party.webauthn()?;
    let (user_id, state) = take(pool, handle, ceremony, now).await?;
    let user_id = user_id.ok_or(PasskeyError::Refused)?;
    let state: PasskeyAuthentication =
        serde_json::from_str(&state).context("reading a passkey ceremony")?;
    let answer: PublicKeyCredential =
        serde_json::from_str(credential).map_err(|_| PasskeyError::Refused)?;
    let result = webauthn
        .finish_passkey_authentication(&answer, &state)
        .map_err(|_| PasskeyError::Refused)?;
    let credential_id = credential_key(result.cred_id().as_ref());
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let Some(row) = passkeys::find_by_credential_id(conn, &credential_id)? else {
                return Err(PasskeyError::Refused);
            };
            if row.user_id != user_id {
                return Err(PasskeyError::Refused);
            }
            let mut passkey: Passkey =
                serde_json::from_str(&row.credential).context("reading a passkey")?;
            passkey.update_credential(&result);
            let stored = serde_json::to_string(&passkey).context("storing a passkey")?;
            passkeys::record_use(conn, row.id, &stored, now)?;
            let user = users::find(conn, user_id)?.ok_or(PasskeyError::Refused)?;
            Ok(Account::from(user))
        })
    })
    .await
}

impl From<diesel::result::Error> for PasskeyError {
    fn from(e: diesel::result::Error) -> Self {
        PasskeyError::Unexpected(anyhow::Error::from(e).context("a passkey query"))
    }
}

/// The account's passkeys, oldest first.
pub async fn list(pool: &DbPool, user_id: i32) -> anyhow::Result<Vec<passkeys::PasskeyRow>> {
    db::run(pool, move |conn| {
        passkeys::list_for_user(conn, user_id).context("listing passkeys")
    })
    .await
}

/// Removes one of the account's passkeys. The last second factor gone (no other passkey, no
/// authenticator app), two-factor authentication is off; `true` then.
pub async fn remove(
    pool: &DbPool,
    account: &Account,
    id: i32,
    ip: Option<String>,
    now: NaiveDateTime,
) -> Result<bool, PasskeyError> {
    let (user_id, actor) = (account.id, Actor::new(account, ip));
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let Some(name) = passkeys::delete_for_user(conn, user_id, id)? else {
                return Err(PasskeyError::NotFound);
            };
            audit::record(
                conn,
                &actor,
                "account.passkey_removed",
                None,
                None,
                &format!("Removed the passkey {name}"),
                now,
            )?;
            let none_left = passkeys::list_for_user(conn, user_id)?.is_empty()
                && db::two_factor::find(conn, user_id)?.is_some_and(|row| row.totp_seed.is_none());
            if none_left {
                db::two_factor::turn_off(conn, user_id)?;
            }
            Ok(none_left)
        })
    })
    .await
}
