//! The lifecycle of everything a client holds besides its secret: authorization codes, access
//! tokens and refresh tokens.
//!
//! Rules kept here:
//! - codes are single use and live 10 minutes; presenting a used code revokes every token
//!   issued from it (RFC 6749 §4.1.2, RFC 9700 §4.5);
//! - refresh tokens rotate on every use; presenting an already-exchanged one revokes the whole
//!   family (grant) it belongs to;
//! - tokens are bound to the client they were issued to: another client can neither use,
//!   revoke nor introspect them;
//! - only hashes are stored; plaintext exists in the one response that delivers it;
//! - client credentials tokens are signed instead of stored, and every use asks the database
//!   whether the app, the secret and the token are still in good standing.

mod access;
mod authorized;
mod grants;

pub use access::*;
pub use authorized::*;
pub use grants::*;
