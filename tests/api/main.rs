//! The one integration test binary: every test starts the real server on port 0 with its own
//! SQLite file and talks HTTP to it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod apps;
mod helpers;
mod oauth;
mod secrets;
mod security;
mod token;
