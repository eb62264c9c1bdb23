use super::random::random_base62;
use chrono::{NaiveDateTime, TimeDelta};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;

const PREFIX: &str = "kts_";
const PUBLIC_ID_LEN: usize = 12;
/// 43 base62 characters carry 43 × log2(62) ≈ 256.0 bits.
const RANDOM_LEN: usize = 43;
const CHECKSUM_LEN: usize = 6;
const LEN: usize = PREFIX.len() + PUBLIC_ID_LEN + 1 + RANDOM_LEN + CHECKSUM_LEN;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A client secret in plaintext, always well-formed:
/// `kts_` + 12-character public id + `_` + 256 random bits (43 base62 characters) + a 6-character
/// CRC32 checksum. The prefix and checksum let secret scanners (and our own parser) tell a Keyturn
/// secret from noise without a database lookup; the public id finds the one row to verify.
///
/// The plaintext is zeroized on drop and never printed by `Debug`.
pub struct ClientSecret(SecretString);

impl ClientSecret {
    /// A fresh secret from rand's OS-seeded generator.
    pub fn generate() -> Self {
        let body = format!(
            "{PREFIX}{}_{}",
            random_base62(PUBLIC_ID_LEN),
            random_base62(RANDOM_LEN)
        );
        let checksum = checksum(&body);
        ClientSecret(SecretString::from(body + &checksum))
    }

    /// Accepts only strings in the exact format with a matching checksum, so that typos and
    /// random guesses are turned away before any database or bcrypt work.
    pub fn parse(raw: &str) -> Option<Self> {
        let bytes = raw.as_bytes();
        let separator = PREFIX.len() + PUBLIC_ID_LEN;
        let well_formed = bytes.len() == LEN
            && raw.starts_with(PREFIX)
            && bytes[separator] == b'_'
            && bytes[PREFIX.len()..]
                .iter()
                .enumerate()
                .all(|(i, b)| i + PREFIX.len() == separator || b.is_ascii_alphanumeric());
        if !well_formed {
            return None;
        }
        let (body, sum) = raw.split_at(LEN - CHECKSUM_LEN);
        (checksum(body) == sum).then(|| ClientSecret(SecretString::from(raw.to_owned())))
    }

    /// The id of the database row this secret belongs to; not secret on its own.
    pub fn public_id(&self) -> &str {
        &self.0.expose_secret()[PREFIX.len()..PREFIX.len() + PUBLIC_ID_LEN]
    }

    /// The last four characters, which is all the portal ever shows again.
    pub fn hint(&self) -> SecretHint {
        SecretHint(self.0.expose_secret()[LEN - 4..].to_owned())
    }

    /// The plaintext: for hashing, verifying, and the one response that shows it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret([REDACTED])")
    }
}

fn checksum(body: &str) -> String {
    let mut n = crc32fast::hash(body.as_bytes()) as usize;
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[n % 62];
        n /= 62;
    }
    out.iter().map(|&b| b as char).collect()
}

/// The last four characters of a secret, displayed as `••••a1b2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretHint(String);

impl SecretHint {
    pub fn from_stored(stored: String) -> Self {
        SecretHint(stored)
    }

    pub fn last_four(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecretHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "••••{}", self.0)
    }
}

/// A short free-text label such as "production" or "staging"; may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretLabel(String);

impl SecretLabel {
    pub const MAX_CHARS: usize = 40;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let label = raw.trim();
        if label.chars().count() > Self::MAX_CHARS {
            Err("A label must be at most 40 characters.")
        } else if label.chars().any(char::is_control) {
            Err("A label must not contain control characters.")
        } else {
            Ok(SecretLabel(label.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a secret still authenticates, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretStatus {
    Active,
    /// Active, with a revocation scheduled at `at`.
    Expiring {
        at: NaiveDateTime,
    },
    /// Revoked by hand at `at`.
    Revoked {
        at: NaiveDateTime,
    },
    /// Stopped by its schedule at `at`.
    Expired {
        at: NaiveDateTime,
    },
}

impl SecretStatus {
    pub fn of(
        revoked_at: Option<NaiveDateTime>,
        expires_at: Option<NaiveDateTime>,
        now: NaiveDateTime,
    ) -> Self {
        match (revoked_at, expires_at) {
            (Some(revoked), Some(expires)) if revoked == expires => {
                SecretStatus::Expired { at: expires }
            }
            (Some(revoked), _) => SecretStatus::Revoked { at: revoked },
            (None, Some(expires)) if expires <= now => SecretStatus::Expired { at: expires },
            (None, Some(expires)) => SecretStatus::Expiring { at: expires },
            (None, None) => SecretStatus::Active,
        }
    }

    /// Whether the secret authenticates right now.
    pub fn is_live(&self) -> bool {
        matches!(self, SecretStatus::Active | SecretStatus::Expiring { .. })
    }
}

/// When the secret that is live now should stop, once a new one is generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OldSecretSchedule {
    Manually,
    InOneHour,
    InOneDay,
    InSevenDays,
    /// Once the new secret has been used and the old one has then gone unused for
    /// [`QUIET_PERIOD`]; at the latest after [`QUIET_DEADLINE`].
    WhenQuiet,
}

/// How long the old secret must go unused, after the new one's first use, to be revoked when
/// quiet.
pub const QUIET_PERIOD: TimeDelta = TimeDelta::hours(24);
/// The hard deadline of a revocation when quiet, for an old secret that never goes quiet.
pub const QUIET_DEADLINE: TimeDelta = TimeDelta::days(7);

/// When an old secret waiting to go quiet is revoked: a quiet period after the later of its
/// own last use and the newer secret's first use. (Its schedule is the hard deadline.)
pub fn quiet_revocation_at(
    old_last_used: Option<NaiveDateTime>,
    newer_first_used: NaiveDateTime,
) -> NaiveDateTime {
    old_last_used.map_or(newer_first_used, |used| used.max(newer_first_used)) + QUIET_PERIOD
}

impl OldSecretSchedule {
    pub const ALL: [OldSecretSchedule; 5] = [
        OldSecretSchedule::Manually,
        OldSecretSchedule::InOneHour,
        OldSecretSchedule::InOneDay,
        OldSecretSchedule::InSevenDays,
        OldSecretSchedule::WhenQuiet,
    ];

    /// `manual` (or nothing), `1h`, `24h`, `7d` or `when_quiet`.
    pub fn parse(raw: Option<&str>) -> Option<Self> {
        match raw.unwrap_or("manual") {
            "" | "manual" => Some(OldSecretSchedule::Manually),
            "1h" => Some(OldSecretSchedule::InOneHour),
            "24h" => Some(OldSecretSchedule::InOneDay),
            "7d" => Some(OldSecretSchedule::InSevenDays),
            "when_quiet" => Some(OldSecretSchedule::WhenQuiet),
            _ => None,
        }
    }

    /// The value `parse` reads: what forms send.
    pub fn as_str(self) -> &'static str {
        match self {
            OldSecretSchedule::Manually => "manual",
            OldSecretSchedule::InOneHour => "1h",
            OldSecretSchedule::InOneDay => "24h",
            OldSecretSchedule::InSevenDays => "7d",
            OldSecretSchedule::WhenQuiet => "when_quiet",
        }
    }

    /// "in 1 hour": how pages and the audit log say it.
    pub fn describe(self) -> &'static str {
        match self {
            OldSecretSchedule::Manually => "manually",
            OldSecretSchedule::InOneHour => "in 1 hour",
            OldSecretSchedule::InOneDay => "in 24 hours",
            OldSecretSchedule::InSevenDays => "in 7 days",
            OldSecretSchedule::WhenQuiet => "when quiet: once the new secret has been used and the old one then goes unused for 24 hours (at the latest in 7 days)",
        }
    }

    pub fn delay(self) -> Option<TimeDelta> {
        match self {
            OldSecretSchedule::Manually => None,
            OldSecretSchedule::InOneHour => Some(TimeDelta::hours(1)),
            OldSecretSchedule::InOneDay => Some(TimeDelta::hours(24)),
            OldSecretSchedule::InSevenDays => Some(TimeDelta::days(7)),
            OldSecretSchedule::WhenQuiet => Some(QUIET_DEADLINE),
        }
    }

    pub fn when_quiet(self) -> bool {
        self == OldSecretSchedule::WhenQuiet
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_parse_back_with_their_public_id() {
        let secret = ClientSecret::generate();
        assert_eq!(secret.expose().len(), LEN);
        assert!(secret.expose().starts_with("kts_"));
        let parsed = ClientSecret::parse(secret.expose()).expect("a generated secret parses");
        assert_eq!(parsed.public_id(), secret.public_id());
        assert_eq!(secret.hint().last_four(), &secret.expose()[LEN - 4..]);
    }

    #[test]
    fn a_single_changed_character_fails_the_checksum() {
        let secret = ClientSecret::generate();
        let mut chars: Vec<char> = secret.expose().chars().collect();
        chars[30] = if chars[30] == 'a' { 'b' } else { 'a' };
        let typo: String = chars.into_iter().collect();
        assert!(ClientSecret::parse(&typo).is_none());
    }

    proptest::proptest! {
        /// Any string, ASCII or not: no panic, and only generated-looking strings parse.
        #[test]
        fn parsing_arbitrary_text_never_panics(raw in ".{0,80}") {
            if let Some(secret) = ClientSecret::parse(&raw) {
                proptest::prop_assert_eq!(secret.expose(), raw.as_str());
            }
        }

        #[test]
        fn near_misses_of_a_real_secret_are_refused(position in 0usize..LEN, replacement in "[A-Za-z0-9_é]") {
            let secret = ClientSecret::generate();
            let mut chars: Vec<char> = secret.expose().chars().collect();
            let original = chars[position];
            chars[position] = replacement.chars().next().unwrap_or('x');
            let mutated: String = chars.into_iter().collect();
            if !replacement.starts_with(original) {
                proptest::prop_assert!(ClientSecret::parse(&mutated).is_none());
            }
        }
    }

    #[test]
    fn noise_is_not_a_secret() {
        for noise in ["", "kts_", "hunter2", &"x".repeat(LEN), "kts_short_secret"] {
            assert!(ClientSecret::parse(noise).is_none(), "{noise:?} parsed");
        }
    }

    #[test]
    fn debug_never_shows_the_plaintext() {
        let secret = ClientSecret::generate();
        let printed = format!("{secret:?}");
        assert!(!printed.contains(secret.expose()));
        assert!(!printed.contains(secret.public_id()));
    }

    #[test]
    fn hints_display_with_a_mask() {
        assert_eq!(
            SecretHint::from_stored("a1b2".into()).to_string(),
            "••••a1b2"
        );
    }
}

#[cfg(test)]
mod status_tests {
    use super::*;

    #[test]
    fn a_schedule_ends_the_secret_at_its_moment_exactly() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        let later = now + chrono::TimeDelta::hours(1);
        assert!(SecretStatus::of(None, Some(later), now).is_live());
        assert!(!SecretStatus::of(None, Some(later), later).is_live());
        assert_eq!(
            SecretStatus::of(Some(later), Some(later), now),
            SecretStatus::Expired { at: later }
        );
        assert_eq!(
            SecretStatus::of(Some(now), Some(later), now),
            SecretStatus::Revoked { at: now }
        );
    }
}
