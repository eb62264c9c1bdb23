use super::text;
use secrecy::{ExposeSecret, SecretString};

/// A lower-cased, plausibly deliverable email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err("Enter your email address.");
        }
        if email.len() > Self::MAX_LEN {
            return Err("Email must be at most 254 characters.");
        }
        let valid = match email.rsplit_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local.len() <= 64
                    && !domain.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
                    && !local.contains('@')
                    && !local.starts_with('.')
                    && !local.ends_with('.')
                    && !email.contains("..")
                    // Invisible characters would make two addresses look the same on a page.
                    && email.chars().all(|c| {
                        !c.is_whitespace()
                            && !c.is_control()
                            && !text::is_invisible(c)
                            && !matches!(c, '\u{200D}' | '\u{FE00}'..='\u{FE0F}')
                            && !"<>()[],;:\\\"".contains(c)
                    })
            }
            None => false,
        };
        if valid {
            Ok(Email(email))
        } else {
            Err("Enter an email address like name@example.com.")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password of 8 to 72 bytes. bcrypt ignores everything after 72 bytes, so longer passwords
/// are refused rather than silently truncated.
#[derive(Debug)]
pub struct Password(SecretString);

impl Password {
    pub const MIN_BYTES: usize = 8;
    pub const MAX_BYTES: usize = 72;

    pub fn parse(raw: SecretString) -> Result<Self, &'static str> {
        let len = raw.expose_secret().len();
        if len < Self::MIN_BYTES {
            Err("Password must be at least 8 characters.")
        } else if len > Self::MAX_BYTES {
            Err("Password must be at most 72 bytes (bcrypt ignores anything longer).")
        } else {
            Ok(Password(raw))
        }
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// The signed-in person, as much as pages need.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i32,
    pub email: String,
    pub is_admin: bool,
    /// The server-side session this account was loaded for, on signed-in requests.
    pub session_id: Option<i32>,
    /// Whether the address is proven (or mail is not configured, so it cannot be).
    pub email_verified: bool,
    /// Whether log-in asks for a second factor.
    pub two_factor: bool,
    /// When this session last gave the password or a second factor.
    pub authenticated_at: Option<chrono::NaiveDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "a da@example.com",
            "ada@.com",
            "a@@example.com",
            "a..b@example.com",
            ".ada@example.com",
            "admin\u{200B}@example.com",
            "vic\u{202E}tim@example.com",
            "\u{FEFF}ada@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn passwords_must_be_8_to_72_bytes() {
        assert!(Password::parse("1234567".to_string().into()).is_err());
        assert!(Password::parse("12345678".to_string().into()).is_ok());
        assert!(Password::parse("x".repeat(72).into()).is_ok());
        assert!(Password::parse("x".repeat(73).into()).is_err());
        // 24 three-byte characters are 72 bytes; one more is over the limit.
        assert!(Password::parse("€".repeat(25).into()).is_err());
    }
}
