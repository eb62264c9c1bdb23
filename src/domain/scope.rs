use std::collections::BTreeSet;
use std::fmt;

/// A permission a user can grant an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Read the user's email address (`GET /api/v1/me`).
    Profile,
    /// List the user's registered apps (`GET /api/v1/apps`).
    AppsRead,
    /// OpenID Connect: sign the user in to the app (an ID token, `/oauth/userinfo`).
    OpenId,
    /// OpenID Connect: the user's email address in the ID token and at `/oauth/userinfo`.
    Email,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Profile, Scope::AppsRead, Scope::OpenId, Scope::Email];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Profile => "profile",
            Scope::AppsRead => "apps:read",
            Scope::OpenId => "openid",
            Scope::Email => "email",
        }
    }

    /// What the consent page tells the user.
    pub fn description(self) -> &'static str {
        match self {
            Scope::Profile => "See your email address",
            Scope::AppsRead => "See the names and client IDs of your apps",
            Scope::OpenId => "Sign you in with your Keyturn account",
            Scope::Email => "See your email address and whether it is verified",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        Scope::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// A non-empty set of known scopes, written space-separated (RFC 6749 §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    /// Applied when an authorization request asks for no scope.
    pub fn default_for_users() -> Self {
        Scopes(BTreeSet::from([Scope::Profile]))
    }

    /// `None` or blank gives the default; `None` back if any scope is unknown.
    pub fn parse_or_default(raw: Option<&str>) -> Option<Self> {
        match raw.map(str::trim).filter(|r| !r.is_empty()) {
            None => Some(Self::default_for_users()),
            Some(raw) => Self::parse_stored(raw),
        }
    }

    /// Parses a space-separated list; `None` if it is empty or names an unknown scope.
    pub fn parse_stored(raw: &str) -> Option<Self> {
        let scopes: Option<BTreeSet<Scope>> =
            raw.split_ascii_whitespace().map(Scope::parse).collect();
        scopes.filter(|s| !s.is_empty()).map(Scopes)
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Scope::as_str).collect();
        f.write_str(&names.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_with_a_default_and_refuse_unknown_names() {
        assert_eq!(
            Scopes::parse_or_default(None).unwrap().to_string(),
            "profile"
        );
        assert_eq!(
            Scopes::parse_or_default(Some("  ")).unwrap().to_string(),
            "profile"
        );
        assert_eq!(
            Scopes::parse_or_default(Some("apps:read profile profile"))
                .unwrap()
                .to_string(),
            "profile apps:read"
        );
        assert!(Scopes::parse_or_default(Some("profile admin")).is_none());
        assert_eq!(
            Scopes::parse_or_default(Some("email openid"))
                .unwrap()
                .to_string(),
            "openid email"
        );
    }
}
