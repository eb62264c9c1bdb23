//! What Keyturn does, free of HTTP: each function takes domain types, runs its queries through
//! `db`, and returns domain outcomes.

pub mod account_links;
pub mod accounts;
pub mod api_tokens;
pub mod apps;
pub mod audit;
pub mod keys;
pub mod maintenance;
pub mod notifications;
pub mod openid;
pub mod passkeys;
pub mod policy;
pub mod review;
pub mod secrets;
pub mod sessions;
pub mod teams;
pub mod tokens;
pub mod two_factor;
