//! Who may do what to an app or a team: the one place that decides it. Every page, form and
//! API route asks [`decide`] or [`decide_for_team`], given what the database says about
//! ownership and membership at the time of the request.

use super::TeamRole;

/// Something a person may want to do to an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppAction {
    /// See the app page, its secrets table with Last Used, webhooks and Activity.
    View,
    /// Generate, revoke, label and schedule secrets; edit redirect URIs and webhooks.
    Change,
    /// Give a personal app to a team.
    MoveToTeam,
}

/// Something a person may want to do in a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamAction {
    /// See the team page: members, invitations, apps and Activity.
    View,
    /// Create an app owned by the team, or move one's own app into it.
    AddApps,
    /// Invite, remove and change the roles of members; rename or delete the team.
    Manage,
}

/// The answer. `Hidden` is for somebody who must not even learn that the thing exists: they
/// get the same 404 as for a missing one. `Forbidden` is for a member who may see it but not
/// do this (403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Forbidden,
    Hidden,
}

/// Who owns an app: the person who created it, and the team that owns it, if any.
#[derive(Debug, Clone, Copy)]
pub struct AppOwnership {
    pub creator_id: i32,
    pub team_id: Option<i32>,
}

/// May `user_id` do `action` to an app? `role` is the user's role in the app's team (`None`
/// when the app is personal or the user is not a member).
pub fn decide(
    user_id: i32,
    app: AppOwnership,
    role: Option<TeamRole>,
    action: AppAction,
) -> Decision {
    match app.team_id {
        // A personal app belongs to its creator alone.
        None if app.creator_id == user_id => Decision::Allowed,
        None => Decision::Hidden,
        Some(_) => match (role, action) {
            (None, _) => Decision::Hidden,
            (Some(_), AppAction::View) => Decision::Allowed,
            (Some(TeamRole::Owner | TeamRole::Developer), AppAction::Change) => Decision::Allowed,
            (Some(TeamRole::Viewer), AppAction::Change) => Decision::Forbidden,
            // Already a team's: teams do not hand apps to each other.
            (Some(_), AppAction::MoveToTeam) => Decision::Forbidden,
        },
    }
}

/// May somebody with `role` in a team (`None`: not a member) do `action` there?
pub fn decide_for_team(role: Option<TeamRole>, action: TeamAction) -> Decision {
    match (role, action) {
        (None, _) => Decision::Hidden,
        (Some(_), TeamAction::View) => Decision::Allowed,
        (Some(TeamRole::Owner | TeamRole::Developer), TeamAction::AddApps) => Decision::Allowed,
        (Some(TeamRole::Owner), TeamAction::Manage) => Decision::Allowed,
        (Some(_), _) => Decision::Forbidden,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AppAction::*;
    use Decision::*;

    const ME: i32 = 1;
    const PERSONAL: AppOwnership = AppOwnership {
        creator_id: ME,
        team_id: None,
    };
    const TEAMS: AppOwnership = AppOwnership {
        creator_id: 2,
        team_id: Some(7),
    };

    #[test]
    fn personal_apps_are_their_creators_alone() {
        for action in [View, Change, MoveToTeam] {
            assert_eq!(decide(ME, PERSONAL, None, action), Allowed);
            assert_eq!(decide(2, PERSONAL, None, action), Hidden);
            // A role in some team says nothing about somebody's personal app.
            assert_eq!(decide(2, PERSONAL, Some(TeamRole::Owner), action), Hidden);
        }
    }

    #[test]
    fn team_apps_follow_the_role() {
        let table = [
            (None, [Hidden, Hidden, Hidden]),
            (Some(TeamRole::Viewer), [Allowed, Forbidden, Forbidden]),
            (Some(TeamRole::Developer), [Allowed, Allowed, Forbidden]),
            (Some(TeamRole::Owner), [Allowed, Allowed, Forbidden]),
        ];
        for (role, expected) in table {
            for (action, want) in [View, Change, MoveToTeam].into_iter().zip(expected) {
                assert_eq!(decide(ME, TEAMS, role, action), want, "{role:?} {action:?}");
            }
        }
        // Having created it gives nothing once it is the team's.
        assert_eq!(decide(2, TEAMS, None, View), Hidden);
    }
}
