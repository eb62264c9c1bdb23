//! The one integration test binary: every test starts the real server on port 0 with its own
//! database and talks HTTP to it. The database is a fresh SQLite file, or with
//! `KEYTURN_TEST_BACKEND=postgres` a fresh PostgreSQL database on the cluster at
//! `KEYTURN_TEST_POSTGRES_URL` (scripts/postgres starts one).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod admin;
mod apps;
mod automation;
mod browser;
mod csrf;
mod expiry;
mod faults;
mod forwarded;
mod headers_and_cookies;
mod helpers;
mod input;
mod keys;
mod logs;
mod notifications;
mod oauth;
mod operating;
mod pages;
mod races;
mod rotation;
mod scaling;
mod secrets;
mod security;
mod sessions;
mod teams;
mod throttling;
