//! The one integration test binary: every test starts the real server on port 0 with its own
//! SQLite file and talks HTTP to it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod admin;
mod apps;
mod browser;
mod faults;
mod hardening;
mod helpers;
mod oauth;
mod rotation;
mod secrets;
mod security;
mod token;
