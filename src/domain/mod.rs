//! Types that are valid by construction. Handlers parse raw form input into these on their
//! first line; nothing past that point ever sees an unchecked value.

mod account;
mod app;
mod client_token;
mod opaque;
mod origin;
mod pkce;
mod scope;
mod secret;

pub use account::{Email, Password};
pub use app::{AppName, ClientId, RedirectUris};
pub use client_token::{ClientTokenClaims, TokenKey};
pub use opaque::{OpaqueToken, TokenKind};
pub use origin::RequestOrigin;
pub use pkce::CodeChallenge;
pub use scope::{Scope, Scopes};
pub use secret::{ClientSecret, SecretHint, SecretLabel, SecretStatus};

use rand::distr::{Alphanumeric, SampleString};

/// `len` characters of `[A-Za-z0-9]`, uniformly distributed, from rand's OS-seeded CSPRNG.
pub(crate) fn random_base62(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}
