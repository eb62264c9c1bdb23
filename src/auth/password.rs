//! bcrypt for passwords (and, through the same helpers, client secrets). Hashing and verifying
//! always run on the blocking pool: at cost 12 one call is a quarter of a second of CPU.

use anyhow::{anyhow, Context};
use std::sync::OnceLock;

/// Hashes `plaintext` off the async workers. Inputs over 72 bytes are an error, never truncated.
pub async fn hash(plaintext: String, cost: u32) -> anyhow::Result<String> {
    let plaintext = zeroize::Zeroizing::new(plaintext);
    actix_web::web::block(move || bcrypt::non_truncating_hash(plaintext.as_bytes(), cost))
        .await
        .map_err(|e| anyhow!("bcrypt task failed: {e}"))?
        .context("hashing with bcrypt")
}

/// Checks `plaintext` against `stored`. When there is no stored hash (unknown account) a dummy
/// hash of the same cost is checked instead, so the answer takes as long either way and timing
/// does not reveal which accounts exist.
pub async fn verify(plaintext: String, stored: Option<String>, cost: u32) -> anyhow::Result<bool> {
    let plaintext = zeroize::Zeroizing::new(plaintext);
    actix_web::web::block(move || {
        let known = stored.is_some();
        let hash = match stored {
            Some(hash) => hash,
            None => dummy_hash(cost)?,
        };
        // Inputs over 72 bytes cannot match anything we stored; bcrypt's own comparison is
        // constant-time.
        let matches = bcrypt::non_truncating_verify(plaintext.as_bytes(), &hash).unwrap_or(false);
        Ok(known && matches)
    })
    .await
    .map_err(|e| anyhow!("bcrypt task failed: {e}"))?
}

fn dummy_hash(cost: u32) -> anyhow::Result<String> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash.clone());
    }
    let hash =
        bcrypt::hash(crate::domain::random_base62(32), cost).context("making the dummy hash")?;
    Ok(DUMMY.get_or_init(|| hash).clone())
}
