//! The ring of ID token signing keys, shared by every instance through the database.
//!
//! Which key signs is read from the database each time an ID token is issued (a code exchange,
//! not the hot path), so every instance switches keys at the same moment; only the opened
//! private keys are kept in memory, per server. A key that no longer opens (the master key
//! changed) is replaced by a fresh key that signs at once, instead of failing every sign-in.

use crate::db::{self, signing_keys, signing_keys::SigningKeyRow, DbPool};
use crate::domain::{
    signing_at, statuses, KeyStatus, KeyTimes, NewSigningKey, PublicJwk, SigningKey, SigningKeySeal,
};
use actix_web::web;
use anyhow::Context;
use chrono::{NaiveDateTime, TimeDelta};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The signing keys as this server sees them: how to open them, and the ones it opened.
pub struct SigningKeys {
    seal: SigningKeySeal,
    publish_ahead: TimeDelta,
    token_lifetime: TimeDelta,
    opened: Mutex<HashMap<String, Arc<SigningKey>>>,
    /// Held while a key that signs at once is generated: a burst of requests on a server
    /// without a usable key (anyone may ask for /oauth/jwks) generates one key, not one each.
    adding: tokio::sync::Mutex<()>,
}

/// A key `rotate` added.
#[derive(Debug, Clone)]
pub struct Rotated {
    pub kid: String,
    pub signs_from: NaiveDateTime,
}

impl SigningKeys {
    /// `master` is the master key; a new key is published `publish_ahead` before it signs, and an
    /// old one stays published for `token_lifetime` (an ID token's) after it stopped signing.
    pub fn new(master: &[u8], publish_ahead: TimeDelta, token_lifetime: TimeDelta) -> Self {
        SigningKeys {
            seal: SigningKeySeal::derive(master),
            publish_ahead,
            token_lifetime,
            opened: Mutex::new(HashMap::new()),
            adding: tokio::sync::Mutex::new(()),
        }
    }

    /// How long an ID token lives.
    pub fn token_lifetime(&self) -> TimeDelta {
        self.token_lifetime
    }

    /// The key that signs at `now`. The very first key is generated here, and signs at once.
    pub async fn signing_key(
        &self,
        pool: &DbPool,
        now: NaiveDateTime,
    ) -> anyhow::Result<Arc<SigningKey>> {
        // Each turn either returns or adds a key (or finds that another instance did).
        for _ in 0..3 {
            let rows = load(pool).await?;
            let Some(row) = signing_at(&times(&rows), now).and_then(|i| rows.get(i)) else {
                self.add(pool, now, Replacing::Nothing).await?;
                continue;
            };
            if let Some(key) = self.cached(&row.kid) {
                return Ok(key);
            }
            let seal = self.seal.clone();
            let (kid, sealed) = (row.kid.clone(), row.sealed_private_key.clone());
            let opened = web::block(move || SigningKey::open(&seal, &kid, &sealed))
                .await
                .context("opening a signing key")?;
            match opened {
                Ok(key) => {
                    let key = Arc::new(key);
                    if let Ok(mut opened) = self.opened.lock() {
                        opened.insert(row.kid.clone(), key.clone());
                    }
                    return Ok(key);
                }
                Err(e) => {
                    tracing::error!(
                        kid = %row.kid,
                        error = %e,
                        "the ID token signing key does not open; a new key signs from now on"
                    );
                    self.add(pool, now, Replacing::Unreadable(row.kid.clone()))
                        .await?;
                }
            }
        }
        anyhow::bail!("no ID token signing key could be set up")
    }

    /// The public keys verifiers need at `now`: the one signing, the ones published ahead, and
    /// the retired ones whose ID tokens may still be live.
    pub async fn published(
        &self,
        pool: &DbPool,
        now: NaiveDateTime,
    ) -> anyhow::Result<Vec<PublicJwk>> {
        let mut rows = load(pool).await?;
        if signing_at(&times(&rows), now).is_none() {
            self.signing_key(pool, now).await?;
            rows = load(pool).await?;
        }
        let statuses = statuses(&times(&rows), now, self.token_lifetime);
        Ok(rows
            .iter()
            .zip(statuses)
            .filter(|(_, status)| status.is_published())
            .filter_map(|(row, _)| match serde_json::from_str(&row.public_jwk) {
                Ok(jwk) => Some(jwk),
                Err(e) => {
                    tracing::error!(kid = %row.kid, error = %e, "a stored public key does not parse");
                    None
                }
            })
            .collect())
    }

    /// Adds a new key: published at once, signing `publish_ahead` from `now`. Keys of no more
    /// use are deleted on the way. What `keyturn rotate-signing-key` runs.
    pub async fn rotate(&self, pool: &DbPool, now: NaiveDateTime) -> anyhow::Result<Rotated> {
        let new = generate(&self.seal).await?;
        let rotated = Rotated {
            kid: new.key.kid().to_owned(),
            signs_from: now + self.publish_ahead,
        };
        let lifetime = self.token_lifetime;
        let row = row_of(&new, now, rotated.signs_from)?;
        let added = db::run(pool, move |conn| {
            db::write_transaction(conn, |conn| {
                purge(conn, now, lifetime)?;
                signing_keys::add(conn, &(&row).into())
            })
            .context("adding a signing key")
        })
        .await?;
        anyhow::ensure!(added, "another key was added at the same moment; try again");
        Ok(rotated)
    }

    fn cached(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.opened.lock().ok()?.get(kid).cloned()
    }

    /// Adds a key that signs from `now`, unless another instance got there first: for the very
    /// first key, or in place of a key that does not open.
    async fn add(
        &self,
        pool: &DbPool,
        now: NaiveDateTime,
        replacing: Replacing,
    ) -> anyhow::Result<()> {
        let _one_at_a_time = self.adding.lock().await;
        // Whoever held the lock before may have added it already.
        if !replacing.still_needed(&load(pool).await?, now) {
            return Ok(());
        }
        let new = generate(&self.seal).await?;
        let lifetime = self.token_lifetime;
        let row = row_of(&new, now, now)?;
        let key = Arc::new(new.key);
        let added = db::run(pool, move |conn| {
            db::write_transaction(conn, |conn| {
                // Another instance may have added it meanwhile.
                if !replacing.still_needed(&signing_keys::all(conn)?, now) {
                    return Ok(false);
                }
                purge(conn, now, lifetime)?;
                signing_keys::add(conn, &(&row).into())
            })
            .context("adding a signing key")
        })
        .await?;
        if added {
            tracing::info!(kid = %key.kid(), "a new ID token signing key signs from now on");
            if let Ok(mut opened) = self.opened.lock() {
                opened.insert(key.kid().to_owned(), key);
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("publish_ahead", &self.publish_ahead)
            .field("token_lifetime", &self.token_lifetime)
            .finish_non_exhaustive()
    }
}

impl Replacing {
    /// Whether the key is still to be added, given the stored keys.
    fn still_needed(&self, rows: &[SigningKeyRow], now: NaiveDateTime) -> bool {
        let signing = signing_at(&times(rows), now).and_then(|i| rows.get(i));
        match (self, signing) {
            (Replacing::Nothing, None) => true,
            (Replacing::Unreadable(kid), Some(row)) => row.kid == *kid,
            _ => false,
        }
    }
}

/// Why a key that signs at once is added.
enum Replacing {
    /// There is no key yet.
    Nothing,
    /// The signing key with this kid does not open.
    Unreadable(String),
}

fn times(rows: &[SigningKeyRow]) -> Vec<KeyTimes> {
    rows.iter()
        .map(|r| KeyTimes {
            sequence: r.sequence,
            signs_from: r.signs_from,
        })
        .collect()
}

async fn load(pool: &DbPool) -> anyhow::Result<Vec<SigningKeyRow>> {
    db::run(pool, |conn| {
        signing_keys::all(conn).context("reading the signing keys")
    })
    .await
}

/// RSA key generation, off the async workers.
async fn generate(seal: &SigningKeySeal) -> anyhow::Result<NewSigningKey> {
    let seal = seal.clone();
    web::block(move || SigningKey::generate(&seal))
        .await
        .context("generating a signing key")?
}

fn row_of(
    new: &NewSigningKey,
    now: NaiveDateTime,
    signs_from: NaiveDateTime,
) -> anyhow::Result<OwnedRow> {
    let public_jwk =
        serde_json::to_string(new.key.public_jwk()).context("encoding a public key")?;
    Ok(OwnedRow {
        kid: new.key.kid().to_owned(),
        public_jwk,
        sealed: new.sealed.clone(),
        now,
        signs_from,
    })
}

/// A key row ready to insert.
struct OwnedRow {
    kid: String,
    public_jwk: String,
    sealed: String,
    now: NaiveDateTime,
    signs_from: NaiveDateTime,
}

impl<'a> From<&'a OwnedRow> for signing_keys::NewSigningKeyRow<'a> {
    fn from(row: &'a OwnedRow) -> Self {
        signing_keys::NewSigningKeyRow {
            kid: &row.kid,
            public_jwk: &row.public_jwk,
            sealed_private_key: &row.sealed,
            created_at: row.now,
            signs_from: row.signs_from,
        }
    }
}

/// Deletes the keys of no more use, and their sealed private halves with them.
fn purge(conn: &mut db::Conn, now: NaiveDateTime, lifetime: TimeDelta) -> diesel::QueryResult<()> {
    let rows = signing_keys::all(conn)?;
    let expired: Vec<i32> = rows
        .iter()
        .zip(statuses(&times(&rows), now, lifetime))
        .filter(|(_, status)| *status == KeyStatus::Expired)
        .map(|(row, _)| row.id)
        .collect();
    if !expired.is_empty() {
        signing_keys::delete(conn, &expired)?;
    }
    Ok(())
}
