//! Keyturn: a developer portal and OAuth 2.0 authorization server. The layers, from the edge
//! inwards: `http` (pages, OAuth endpoints, the API), `service` (what Keyturn does), `domain`
//! (types valid by construction), `db` (Diesel queries) and `infra` (clock, caches, throttles,
//! bcrypt, telemetry, mail, outbound webhooks). `state` is what handlers share; `startup`
//! assembles it all.

pub mod config;
pub mod db;
pub mod domain;
pub mod http;
pub mod infra;
pub mod service;
pub mod startup;
pub mod state;
