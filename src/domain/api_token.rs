//! Personal API tokens: what they may do, what they are called, and how long they live.

use super::policy::SecretLifetime;
use super::text;
use std::fmt;

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ApiScope {
    /// List the apps and their secrets' metadata.
    AppsRead,
    /// Generate and revoke secrets.
    SecretsWrite,
}

impl ApiScope {
    pub const ALL: [ApiScope; 2] = [ApiScope::AppsRead, ApiScope::SecretsWrite];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::AppsRead => "apps:read",
            ApiScope::SecretsWrite => "secrets:write",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            ApiScope::AppsRead => "List your apps and their secrets (never a secret's value)",
            ApiScope::SecretsWrite => "Generate and revoke secrets",
        }
    }
}

/// A token's scopes: at least one, each known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiScopes {
    apps_read: bool,
    secrets_write: bool,
}

impl ApiScopes {
    /// From the names ticked on the form or stored; `None` if none is given or one is unknown.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        let mut scopes = ApiScopes {
            apps_read: false,
            secrets_write: false,
        };
        for name in names {
            match ApiScope::ALL.into_iter().find(|s| s.as_str() == name)? {
                ApiScope::AppsRead => scopes.apps_read = true,
                ApiScope::SecretsWrite => scopes.secrets_write = true,
            }
        }
        (scopes.apps_read || scopes.secrets_write).then_some(scopes)
    }

    pub fn parse_stored(raw: &str) -> Option<Self> {
        Self::parse(raw.split_ascii_whitespace())
    }

    pub fn contains(self, scope: ApiScope) -> bool {
        match scope {
            ApiScope::AppsRead => self.apps_read,
            ApiScope::SecretsWrite => self.secrets_write,
        }
    }
}

impl fmt::Display for ApiScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = ApiScope::ALL
            .into_iter()
            .filter(|s| self.contains(*s))
            .map(ApiScope::as_str)
            .collect();
        f.write_str(&names.join(" "))
    }
}

/// What the owner calls a token ("deploy pipeline"): 1 to 60 printable characters.
#[derive(Debug, Clone)]
pub struct ApiTokenName(String);

impl ApiTokenName {
    pub const MAX_CHARS: usize = 60;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let name = raw.trim();
        if name.is_empty() {
            Err("Give the token a name, so you know later what it is for.")
        } else if name.chars().count() > Self::MAX_CHARS {
            Err("A token name must be at most 60 characters.")
        } else if name
            .chars()
            .any(|c| c.is_control() || text::is_invisible(c))
            || !text::has_visible(name)
        {
            Err("A token name must not contain control or invisible characters.")
        } else {
            Ok(ApiTokenName(name.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// "Expires after" for a token: the choices secrets offer, but 30, 90 and 365 days or Never.
pub const API_TOKEN_LIFETIMES: [SecretLifetime; 4] = [
    SecretLifetime::Days(30),
    SecretLifetime::Days(90),
    SecretLifetime::Days(365),
    SecretLifetime::Never,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_need_one_known_name() {
        assert!(ApiScopes::parse([]).is_none());
        assert!(ApiScopes::parse(["apps:read", "admin"]).is_none());
        let both = ApiScopes::parse(["secrets:write", "apps:read"]).expect("known scopes");
        assert_eq!(both.to_string(), "apps:read secrets:write");
        assert_eq!(ApiScopes::parse_stored(&both.to_string()), Some(both));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            ApiTokenName::parse("  deploy  ").unwrap().as_str(),
            "deploy"
        );
        assert!(ApiTokenName::parse(" ").is_err());
        assert!(ApiTokenName::parse(&"x".repeat(61)).is_err());
    }
}
