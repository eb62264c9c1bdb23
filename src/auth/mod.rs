//! Who is asking: accounts and passwords, the browser session, and CSRF protection.

pub mod accounts;
pub mod csrf;
pub mod password;
pub mod session;
pub mod sessions;

pub use csrf::CsrfForm;
pub use session::{AdminUser, CurrentUser, TypedSession};
