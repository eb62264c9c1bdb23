//! A mailed single-use link of an account, with its token in plaintext.

use super::opaque::OpaqueToken;

/// A link about to be mailed, with its token in plaintext (it exists only in the mail).
pub enum MailedLink {
    VerifyEmail(OpaqueToken),
    ResetPassword(OpaqueToken),
}

impl MailedLink {
    /// The path on this server the link opens.
    pub fn path(&self) -> String {
        match self {
            MailedLink::VerifyEmail(token) => format!("/verify-email?token={}", token.expose()),
            MailedLink::ResetPassword(token) => {
                format!("/reset-password?token={}", token.expose())
            }
        }
    }
}
