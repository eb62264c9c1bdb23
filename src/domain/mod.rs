//! Types that are valid by construction. Handlers parse raw form input into these on their
//! first line; nothing past that point ever sees an unchecked value.

pub mod access;
mod account;
mod account_link;
mod api_token;
mod app;
pub mod client_key;
mod client_token;
mod derived_key;
mod opaque;
mod origin;
mod pkce;
mod policy;
mod random;
mod scope;
mod secret;
mod secret_proof;
mod signing_key;
mod team;
pub mod text;
mod two_factor;
mod webhook;

pub use account::{Account, Email, Password};
pub use account_link::MailedLink;
pub use api_token::{ApiScope, ApiScopes, ApiTokenName, API_TOKEN_LIFETIMES};
pub use app::{AppName, ClientId, RedirectUris};
pub use client_key::{Credential, JwksUrl, KeyInputError, PublicKey};
pub use client_token::{ClientTokenClaims, TokenKey};
pub use derived_key::derived_hmac;
pub use opaque::{hex_sha256, OpaqueToken, TokenKind};
pub use origin::RequestOrigin;
pub use pkce::CodeChallenge;
pub use policy::{SecretLifetime, SecretPolicy};
pub(crate) use random::random_base62;
pub use scope::{Scope, Scopes};
pub use secret::{
    quiet_revocation_at, ClientSecret, OldSecretSchedule, SecretHint, SecretLabel, SecretStatus,
    QUIET_DEADLINE, QUIET_PERIOD,
};
pub use secret_proof::SecretProofKey;
pub use signing_key::{
    left_half_sha256, signing_at, statuses, KeyStatus, KeyTimes, NewSigningKey, PublicJwk,
    SealError, SigningKey, SigningKeySeal, ID_TOKEN_ALGORITHM,
};
pub use team::{TeamName, TeamRole};
pub use two_factor::{
    Authenticator, AuthenticatorKeys, PasskeyName, RecoveryCode, SecondFactorCode, TotpCode,
};
pub use webhook::{WebhookKey, WebhookKeys};
