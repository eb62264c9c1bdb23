//! Infrastructure every layer may use: nothing here knows about apps, secrets or HTTP.

pub mod cache;
pub mod clock;
pub mod hashing;
pub mod jwks;
pub mod mail;
pub mod metrics;
pub mod telemetry;
pub mod throttle;
pub mod webhook_client;
