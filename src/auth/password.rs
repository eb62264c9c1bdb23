//! bcrypt for passwords (and, through the same helpers, client secrets). Hashing and verifying
//! always run on the blocking pool: at cost 12 one call is a quarter of a second of CPU.

use anyhow::{anyhow, Context};
use std::sync::OnceLock;

/// bcrypt reads at most 72 bytes; longer inputs are refused, never truncated.
pub const MAX_BYTES: usize = 72;

/// Hashes `plaintext` off the async workers. Callers pass at most [`MAX_BYTES`] (the domain
/// types guarantee it); longer input is an error here too.
pub async fn hash(plaintext: String, cost: u32) -> anyhow::Result<String> {
    if plaintext.len() > MAX_BYTES {
        return Err(anyhow!("refusing to hash more than {MAX_BYTES} bytes"));
    }
    let plaintext = zeroize::Zeroizing::new(plaintext);
    actix_web::web::block(move || bcrypt::hash(plaintext.as_bytes(), cost))
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
        // Input over 72 bytes never matches (bcrypt would compare only its first 72 bytes), but
        // still costs one verification so that its answer takes as long as any other.
        let acceptable = stored.is_some() && plaintext.len() <= MAX_BYTES;
        let hash = match stored {
            Some(hash) if acceptable => hash,
            _ => dummy_hash(cost)?,
        };
        // bcrypt compares the hashes in constant time.
        let matches = bcrypt::verify(plaintext.as_bytes(), &hash).unwrap_or(false);
        Ok(acceptable && matches)
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
