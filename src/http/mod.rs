//! The edges: browser pages (`web`), OAuth endpoints (`oauth`) and the bearer-token API
//! (`api`), with what they share: the session, CSRF checks, page errors and the route table.

pub mod api;
pub mod csrf;
pub mod error;
pub mod oauth;
pub mod observe;
pub mod origin;
pub mod routes;
pub mod session;
pub mod web;

pub use csrf::CsrfForm;
pub use origin::{client_ip, request_origin};
pub use session::{AdminUser, CurrentUser, TypedSession};
