//! Telling people and apps what happens to their secrets: mail to the app's owner and signed
//! webhooks to the app's endpoints.
//!
//! Nothing is lost: an event is written in the transaction of the change that causes it (the
//! outbox, `record`), or for time-based events found by the worker and written once each
//! (a unique key). The worker (`worker`) fans events out into deliveries and sends them,
//! retrying with backoff for more than a day; several instances never send one twice.

mod events;
mod messages;
pub mod webhooks;
pub mod worker;

pub use events::{
    record, record_key, KEY_ADDED, KEY_REVOKED, REVOCATION_REMINDER, ROTATION_COMPLETED,
    SECRET_CREATED, SECRET_EXPIRED, SECRET_EXPIRING, SECRET_REVOKED,
};
pub use worker::Notifier;
