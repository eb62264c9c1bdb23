//! The heart of Keyturn: generating, verifying, rotating and revoking client secrets.
//!
//! Rules kept here and nowhere else:
//! - a new secret never revokes an old one by itself, and an app has at most [`MAX_ACTIVE`] live
//!   secrets, checked inside an immediate (write-locked) transaction and again by a trigger;
//! - revocation is immediate and final, and a scheduled revocation takes effect at its moment
//!   exactly: every verification reads the secret's status and schedule from the database;
//! - plaintext exists only in the [`ClientSecret`](crate::domain::ClientSecret) handed back once by [`generate_secret`];
//!   the database holds a bcrypt hash and the last four characters;
//! - "Last Used" (with the address and client it came from) is written at most once a minute
//!   per secret unless the address or client changes, and uses are counted in memory and
//!   flushed with that write, never one write per request;
//! - every change is recorded in the audit log, in the same transaction.
//!
//! - `rotation`: the rules above, for generating, revoking, scheduling and labelling;
//! - `verification`: authenticating a client by its secret on each request;
//! - `usage`: "Last Used" and the use counts; `proven`: secrets bcrypt already accepted.

mod proven;
mod rotation;
mod usage;
mod verification;

pub use rotation::{
    cancel_schedule, count_active, creator_email, find_secret, generate_once, generate_secret,
    revoke_quiet_secrets, revoke_secret, set_label, GenerateRequest, Generated, GeneratedSecret,
    GenerationTurns, IdempotencyKey, Revocation, SecretError, IDEMPOTENCY_WINDOW, MAX_ACTIVE,
};
pub use usage::SecretUsage;
pub use verification::{
    authenticate_client, count_failed_attempt, AuthenticatedClient, ClientAttempt, ClientCheck,
    ClientRefusal, EndNotice, SecretChecks, SecretEnd,
};
