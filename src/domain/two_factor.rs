//! Second factors: authenticator-app codes (TOTP, RFC 6238) and recovery codes.
//!
//! An authenticator's key is derived from the server's master key and a random seed stored
//! with the account, like webhook signing keys: the database alone does not give away a key
//! that makes codes.

use hmac::{Hmac, Mac};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::fmt;
use totp_rs::{Algorithm, Builder, Totp};

type HmacSha256 = Hmac<Sha256>;

/// Derives each account's authenticator key from the server's master key.
#[derive(Clone)]
pub struct AuthenticatorKeys(HmacSha256);

impl AuthenticatorKeys {
    pub fn derive(master: &[u8]) -> Self {
        AuthenticatorKeys(super::derived_key::derived_hmac(
            master,
            b"keyturn authenticator keys v1",
        ))
    }

    /// A fresh random seed for a new authenticator (stored; useless without the master key).
    pub fn new_seed() -> String {
        super::random::random_base62(32)
    }

    /// The authenticator of `seed`, named for `account` in the app that scans it.
    pub fn authenticator(&self, seed: &str, account: &str) -> Authenticator {
        let mut mac = self.0.clone();
        mac.update(seed.as_bytes());
        // 160 bits, the length RFC 4226 recommends.
        let key = mac.finalize().into_bytes()[..20].to_vec();
        // An otpauth label may not hold a colon.
        let account: String = account.replace(':', "_");
        let totp = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_skew(1)
            .with_step_duration(Authenticator::STEP)
            .with_secret(key)
            .with_issuer(Some("Keyturn"))
            .with_account_name(account)
            .build_noncompliant();
        Authenticator(totp)
    }
}

impl fmt::Debug for AuthenticatorKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthenticatorKeys([REDACTED])")
    }
}

/// One account's authenticator: makes and checks its six-digit codes.
pub struct Authenticator(Totp);

impl Authenticator {
    /// Seconds per code.
    pub const STEP: u64 = 30;

    /// The key as people type it into an app: base32 in groups of four.
    pub fn setup_key(&self) -> String {
        let key = self.0.secret().to_base32();
        key.as_bytes()
            .chunks(4)
            .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The `otpauth://` URL the QR code carries.
    pub fn url(&self) -> String {
        self.0.to_url().unwrap_or_default()
    }

    /// The QR code of [`Self::url`] as an SVG image, drawn here (no outside service sees it).
    pub fn qr_svg(&self) -> String {
        match qrcode::QrCode::new(self.url().as_bytes()) {
            Ok(code) => code
                .render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build(),
            Err(_) => String::new(),
        }
    }

    /// The 30-second step `code` belongs to, if it is the code of this step or of the one
    /// before or after (clocks drift). Compared in constant time. The caller accepts a step
    /// only once.
    pub fn matching_step(&self, code: &TotpCode, unix_seconds: u64) -> Option<i64> {
        let step = self.0.check(code.0.expose_secret(), unix_seconds)?;
        i64::try_from(step).ok()
    }

    /// The code of the step at `unix_seconds` (tests compute codes the same way an app does).
    pub fn code_at(&self, unix_seconds: u64) -> String {
        self.0.generate(unix_seconds).to_string()
    }
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Authenticator([REDACTED])")
    }
}

/// Six digits from an authenticator app, as typed (spaces allowed).
pub struct TotpCode(SecretString);

/// A recovery code as typed: case, spaces and dashes do not matter.
pub struct RecoveryCode(SecretString);

/// What was typed into "Authentication code": an app's code or a recovery code.
pub enum SecondFactorCode {
    Totp(TotpCode),
    Recovery(RecoveryCode),
}

/// The alphabet of recovery codes: no 0/o, 1/l/i to misread.
const RECOVERY_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
/// 16 characters of 31: 79 random bits, enough that a fast hash is safe to store.
const RECOVERY_LEN: usize = 16;

impl SecondFactorCode {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let compact: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect::<String>()
            .to_ascii_lowercase();
        if compact.len() == 6 && compact.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(SecondFactorCode::Totp(TotpCode(compact.into())));
        }
        if compact.len() == RECOVERY_LEN && compact.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))
        {
            return Ok(SecondFactorCode::Recovery(RecoveryCode(compact.into())));
        }
        Err("Enter the 6-digit code from your authenticator app, or a recovery code.")
    }
}

impl TotpCode {
    /// Only six digits are an authenticator code.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        match SecondFactorCode::parse(raw) {
            Ok(SecondFactorCode::Totp(code)) => Ok(code),
            _ => Err("Enter the 6-digit code from your authenticator app."),
        }
    }
}

impl RecoveryCode {
    /// A fresh code, as shown once: `xxxx-xxxx-xxxx-xxxx`.
    pub fn generate() -> (String, Self) {
        let mut rng = rand::rng();
        let compact: String = (0..RECOVERY_LEN)
            .map(|_| char::from(RECOVERY_ALPHABET[rng.random_range(0..RECOVERY_ALPHABET.len())]))
            .collect();
        let shown = compact
            .as_bytes()
            .chunks(4)
            .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
            .collect::<Vec<_>>()
            .join("-");
        (shown, RecoveryCode(compact.into()))
    }

    /// What is stored and looked up: the SHA-256 of the code without dashes.
    pub fn hash(&self) -> String {
        Sha256::digest(self.0.expose_secret().as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// What a passkey is called on the Security page ("Work laptop"): 1 to 40 visible characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyName(String);

impl PasskeyName {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let name = raw.trim();
        if name.is_empty() {
            Err("Enter a name for the passkey, such as Work laptop.")
        } else if name.chars().count() > 40 {
            Err("The passkey's name must be at most 40 characters.")
        } else if name
            .chars()
            .any(|c| c.is_control() || super::text::is_invisible(c))
            || !super::text::has_visible(name)
        {
            Err("The passkey's name must not contain control or invisible characters.")
        } else {
            Ok(PasskeyName(name.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_matches_its_own_step_and_its_neighbours_only() {
        let keys = AuthenticatorKeys::derive(b"a master key of some length here");
        let app = keys.authenticator("seed", "ada@example.com");
        let now = 1_800_000_000;
        let code = |t| match SecondFactorCode::parse(&app.code_at(t)) {
            Ok(SecondFactorCode::Totp(code)) => code,
            _ => unreachable!(),
        };
        let step = i64::try_from(now / 30).unwrap();
        assert_eq!(app.matching_step(&code(now), now), Some(step));
        assert_eq!(app.matching_step(&code(now - 30), now), Some(step - 1));
        assert_eq!(app.matching_step(&code(now + 30), now), Some(step + 1));
        assert_eq!(app.matching_step(&code(now - 90), now), None);
        let other = keys.authenticator("another seed", "ada@example.com");
        assert_ne!(other.code_at(now), app.code_at(now));
        assert!(app
            .url()
            .starts_with("otpauth://totp/Keyturn:ada%40example.com?"));
        assert!(app.qr_svg().starts_with("<?xml"));
        assert!(!format!("{app:?}").contains(&app.setup_key()));
    }

    #[test]
    fn recovery_codes_read_the_same_however_typed() {
        let (shown, code) = RecoveryCode::generate();
        assert_eq!(shown.len(), 19);
        for typed in [shown.clone(), shown.to_uppercase(), shown.replace('-', " ")] {
            match SecondFactorCode::parse(&typed) {
                Ok(SecondFactorCode::Recovery(again)) => assert_eq!(again.hash(), code.hash()),
                _ => panic!("{typed} is a recovery code"),
            }
        }
        assert!(SecondFactorCode::parse("12345").is_err());
        assert!(SecondFactorCode::parse("123 456").is_ok());
    }
}
