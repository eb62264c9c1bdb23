use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A PKCE S256 code challenge (RFC 7636 §4.2): 43 to 128 unreserved characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    pub fn parse(raw: &str) -> Option<Self> {
        is_pkce_string(raw).then(|| CodeChallenge(raw.to_owned()))
    }

    pub fn from_stored(stored: String) -> Self {
        CodeChallenge(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `BASE64URL(SHA256(verifier)) == challenge`, compared in constant time. A verifier that is
    /// not 43 to 128 unreserved characters never matches.
    pub fn is_satisfied_by(&self, verifier: &str) -> bool {
        if !is_pkce_string(verifier) {
            return false;
        }
        let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        computed.as_bytes().ct_eq(self.0.as_bytes()).into()
    }
}

fn is_pkce_string(raw: &str) -> bool {
    (43..=128).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_example_verifies() {
        // RFC 7636 Appendix B.
        let challenge =
            CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").unwrap();
        assert!(challenge.is_satisfied_by("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert!(!challenge.is_satisfied_by("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx"));
        assert!(!challenge.is_satisfied_by("short"));
    }

    #[test]
    fn malformed_challenges_are_refused() {
        assert!(CodeChallenge::parse("too-short").is_none());
        assert!(CodeChallenge::parse(&"a".repeat(129)).is_none());
        assert!(CodeChallenge::parse(&format!("{}+", "a".repeat(43))).is_none());
    }
}
