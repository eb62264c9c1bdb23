//! Keys derived from the server's master key (the session key), one per purpose, so no two
//! uses ever share a key and none is stored.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// An HMAC-SHA256 keyed with the master key's derivation for `purpose` (a fixed label such as
/// `b"keyturn webhook signing keys v1"`).
pub fn derived_hmac(master: &[u8], purpose: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so neither call can fail.
    let mut derive = Hmac::<Sha256>::new_from_slice(master).unwrap_or_else(|_| unreachable!());
    derive.update(purpose);
    let key = derive.finalize().into_bytes();
    Hmac::<Sha256>::new_from_slice(&key).unwrap_or_else(|_| unreachable!())
}
