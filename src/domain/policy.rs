//! How long secrets may live, and when their owners and apps are warned: the admin's policy.

use chrono::TimeDelta;

/// "Expires after", chosen when a secret is generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretLifetime {
    Never,
    Days(i64),
}

impl SecretLifetime {
    /// Every choice, shortest first.
    pub const ALL: [SecretLifetime; 5] = [
        SecretLifetime::Never,
        SecretLifetime::Days(30),
        SecretLifetime::Days(90),
        SecretLifetime::Days(180),
        SecretLifetime::Days(365),
    ];

    /// `never`, `30`, `90`, `180` or `365`: what forms send.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SecretLifetime::Never => "never",
            SecretLifetime::Days(30) => "30",
            SecretLifetime::Days(90) => "90",
            SecretLifetime::Days(180) => "180",
            SecretLifetime::Days(_) => "365",
        }
    }

    /// "Never", "30 days": how pages say it.
    pub fn describe(self) -> String {
        match self {
            SecretLifetime::Never => "Never".to_owned(),
            SecretLifetime::Days(days) => format!("{days} days"),
        }
    }

    pub fn duration(self) -> Option<TimeDelta> {
        match self {
            SecretLifetime::Never => None,
            SecretLifetime::Days(days) => Some(TimeDelta::days(days)),
        }
    }
}

/// The admin's rules for secrets and accounts, kept in the database so every instance applies
/// the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretPolicy {
    /// No secret may be generated to live longer (nor forever); `None`: no limit.
    pub max_lifetime_days: Option<i64>,
    /// How long before a secret's end its owners and its app are warned.
    pub warning_days: i64,
    /// Every account, admins included, must have two-factor authentication before it can use
    /// any page but the Security page.
    pub require_two_factor: bool,
}

impl Default for SecretPolicy {
    fn default() -> Self {
        SecretPolicy {
            max_lifetime_days: None,
            warning_days: 14,
            require_two_factor: false,
        }
    }
}

impl SecretPolicy {
    /// Upper bounds for the form fields; anything larger is a typo.
    pub const MAX_DAYS: i64 = 3650;

    /// Parses the policy form: an empty maximum means none; the warning period must be given.
    pub fn parse(
        max_lifetime: &str,
        warning: &str,
        require_two_factor: bool,
    ) -> Result<Self, &'static str> {
        let max_lifetime = max_lifetime.trim();
        let max_lifetime_days = if max_lifetime.is_empty() {
            None
        } else {
            match max_lifetime.parse::<i64>() {
                Ok(days) if (30..=Self::MAX_DAYS).contains(&days) => Some(days),
                _ => return Err("Maximum secret lifetime must be a number of days from 30 to 3650, or empty for no maximum."),
            }
        };
        let warning_days = match warning.trim().parse::<i64>() {
            Ok(days) if (0..=365).contains(&days) => days,
            _ => {
                return Err(
                    "Warn owners this many days before expiry must be a number from 0 to 365.",
                )
            }
        };
        Ok(SecretPolicy {
            max_lifetime_days,
            warning_days,
            require_two_factor,
        })
    }

    pub fn allows(&self, lifetime: SecretLifetime) -> bool {
        match (self.max_lifetime_days, lifetime) {
            (None, _) => true,
            (Some(_), SecretLifetime::Never) => false,
            (Some(max), SecretLifetime::Days(days)) => days <= max,
        }
    }

    /// The choices the generate form offers, shortest first.
    pub fn choices(&self) -> Vec<SecretLifetime> {
        SecretLifetime::ALL
            .into_iter()
            .filter(|l| self.allows(*l))
            .collect()
    }

    /// The preselected choice: Never without a maximum, else the longest allowed (a maximum
    /// is at least 30 days, so there always is one).
    pub fn default_choice(&self) -> SecretLifetime {
        match self.max_lifetime_days {
            None => SecretLifetime::Never,
            Some(_) => self
                .choices()
                .into_iter()
                .last()
                .unwrap_or(SecretLifetime::Days(30)),
        }
    }

    pub fn warning(&self) -> TimeDelta {
        TimeDelta::days(self.warning_days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_maximum_leaves_only_the_choices_within_it_and_never_is_gone() {
        let policy = SecretPolicy::parse("90", "14", false).unwrap();
        assert_eq!(
            policy.choices(),
            vec![SecretLifetime::Days(30), SecretLifetime::Days(90)]
        );
        assert_eq!(policy.default_choice(), SecretLifetime::Days(90));
        assert!(!policy.allows(SecretLifetime::Never));
        assert!(!policy.allows(SecretLifetime::Days(180)));
    }

    #[test]
    fn no_maximum_offers_everything_and_defaults_to_never() {
        let policy = SecretPolicy::parse(" ", "14", false).unwrap();
        assert_eq!(policy.choices().len(), 5);
        assert_eq!(policy.default_choice(), SecretLifetime::Never);
    }

    #[test]
    fn a_maximum_below_the_shortest_choice_and_bad_numbers_are_refused() {
        assert!(SecretPolicy::parse("10", "14", false).is_err());
        assert!(SecretPolicy::parse("abc", "14", false).is_err());
        assert!(SecretPolicy::parse("0", "14", false).is_err());
        assert!(SecretPolicy::parse("", "-1", false).is_err());
        assert!(SecretPolicy::parse("", "", false).is_err());
    }
}
