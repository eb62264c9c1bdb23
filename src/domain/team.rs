//! Teams: their names and the roles of their members.

use super::text;

/// A team's name: 1 to 100 characters, no control characters.
#[derive(Debug, Clone)]
pub struct TeamName(String);

impl TeamName {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let name = raw.trim();
        if name.is_empty() {
            Err("Enter a name for the team.")
        } else if name.chars().count() > 100 {
            Err("Team name must be at most 100 characters.")
        } else if name
            .chars()
            .any(|c| c.is_control() || text::is_invisible(c))
            || !text::has_visible(name)
        {
            Err("Team name must not contain control or invisible characters.")
        } else {
            Ok(TeamName(name.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a member may do in a team; see [`crate::domain::access`] for what each role allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TeamRole {
    /// Everything, plus members, roles, renaming and deleting the team.
    Owner,
    /// Creates the team's apps and changes them: secrets, redirect URIs, webhooks.
    Developer,
    /// Sees the team's apps, their secrets tables and Activity; changes nothing.
    Viewer,
}

impl TeamRole {
    pub const ALL: [TeamRole; 3] = [TeamRole::Owner, TeamRole::Developer, TeamRole::Viewer];

    /// The form value and the stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            TeamRole::Owner => "owner",
            TeamRole::Developer => "developer",
            TeamRole::Viewer => "viewer",
        }
    }

    /// What people read.
    pub fn label(self) -> &'static str {
        match self {
            TeamRole::Owner => "Owner",
            TeamRole::Developer => "Developer",
            TeamRole::Viewer => "Viewer",
        }
    }

    /// Exactly one of the stored values; anything else is not a role.
    pub fn parse(raw: &str) -> Option<TeamRole> {
        TeamRole::ALL.into_iter().find(|r| r.as_str() == raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_only_their_own_words() {
        for role in TeamRole::ALL {
            assert_eq!(TeamRole::parse(role.as_str()), Some(role));
        }
        for raw in ["Owner", "owner ", "", "admin", "owner\t"] {
            assert_eq!(TeamRole::parse(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn team_names_are_checked() {
        assert_eq!(TeamName::parse("  Payments ").unwrap().as_str(), "Payments");
        assert!(TeamName::parse(" \t").is_err());
        assert!(TeamName::parse("a\u{0}b").is_err());
        assert!(TeamName::parse("Pay\u{202E}ments").is_err());
        assert!(TeamName::parse("\u{200B}").is_err());
        assert!(TeamName::parse("\u{200D}\u{FE0F}").is_err());
        assert!(TeamName::parse("👨\u{200D}👩\u{200D}👧 family").is_ok());
        assert!(TeamName::parse(&"x".repeat(101)).is_err());
        assert!(TeamName::parse(&"é".repeat(100)).is_ok());
    }
}
