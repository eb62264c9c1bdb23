//! Teams: creating them, their members and invitations, and what their page shows. Every
//! decision about who may do what goes through [`access::decide_for_team`], inside the write
//! transaction that makes the change, so a member removed a moment ago can change nothing and
//! the rule "at least one Owner" holds however many requests arrive at once.

use crate::db::{self, apps::App, audit::AuditEvent, teams, teams::Invitation, teams::Member};
use crate::db::{teams::Team, users, Conn, DbPool};
use crate::domain::access::{self, Decision, TeamAction, TeamAction::Manage, TeamAction::View};
use crate::domain::{Email, TeamName, TeamRole};
use crate::service::audit::{self, Actor};
use chrono::NaiveDateTime;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// How many invitations may wait for sign-up at once in one team: enough for any real team,
/// and a bound on the mail an Owner can make Keyturn send.
pub const MAX_PENDING_INVITATIONS: i64 = 100;

/// How many people one person may invite in 24 hours, in all their teams, whether they had an
/// account (added at once) or not (a mail Keyturn sends to an address the inviter chose).
pub const MAX_INVITATIONS_PER_DAY: i64 = 200;

#[derive(Debug, thiserror::Error)]
pub enum TeamsError {
    /// Not a member, or no such team: the same answer.
    #[error("Team not found.")]
    NotFound,
    #[error("Only the team's Owners can do that.")]
    OwnersOnly,
    #[error("A team always keeps at least one Owner: make another member an Owner first.")]
    LastOwner,
    #[error("{0} is already a member of this team.")]
    AlreadyMember(String),
    #[error("{0} has already been invited to this team.")]
    AlreadyInvited(String),
    #[error(
        "This team already has {MAX_PENDING_INVITATIONS} pending invitations: cancel some first."
    )]
    TooManyInvitations,
    #[error(
        "You have sent {MAX_INVITATIONS_PER_DAY} invitations in the last 24 hours: try again tomorrow."
    )]
    DailyInvitationLimit,
    #[error("This team still owns apps. A team that owns apps cannot be deleted.")]
    StillOwnsApps,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DieselError> for TeamsError {
    fn from(e: DieselError) -> Self {
        TeamsError::Unexpected(e.into())
    }
}

/// The audit actions of an invitation to an email without an account, and of an account added
/// at once: both count towards [`MAX_INVITATIONS_PER_DAY`].
const INVITED: &str = "team.member_invited";
const ADDED: &str = "team.member_added";

fn user_of(actor: &Actor) -> Result<i32, TeamsError> {
    actor
        .user_id
        .ok_or_else(|| anyhow::anyhow!("teams are changed by people").into())
}

/// The team and the acting user's role in it, if the policy allows `action`.
fn authorize(
    conn: &mut Conn,
    team_id: i32,
    user_id: i32,
    action: TeamAction,
) -> Result<(Team, TeamRole), TeamsError> {
    let role = teams::role_of(conn, team_id, user_id)?;
    match (access::decide_for_team(role, action), role) {
        (Decision::Allowed, Some(role)) => {
            let team = teams::find(conn, team_id)?.ok_or(TeamsError::NotFound)?;
            Ok((team, role))
        }
        (Decision::Forbidden, _) => Err(TeamsError::OwnersOnly),
        _ => Err(TeamsError::NotFound),
    }
}

/// A change to one team by one person whom the policy allowed, inside its write transaction.
struct TeamChange {
    actor: Actor,
    user_id: i32,
    team: Team,
    now: NaiveDateTime,
}

impl TeamChange {
    /// Writes one event of the team's Activity.
    fn record(&self, conn: &mut Conn, action: &str, detail: &str) -> Result<(), TeamsError> {
        audit::record_for_team(
            conn,
            &self.actor,
            action,
            self.team.id,
            None,
            detail,
            self.now,
        )?;
        Ok(())
    }
}

/// Runs `change` in a write transaction once the policy allows the acting person `action` in
/// the team: the check and the change see the same membership, whatever runs at the same time.
async fn change_team<T, F>(
    pool: &DbPool,
    actor: Actor,
    team_id: i32,
    action: TeamAction,
    now: NaiveDateTime,
    change: F,
) -> Result<T, TeamsError>
where
    F: FnOnce(&mut Conn, TeamChange) -> Result<T, TeamsError> + Send + 'static,
    T: Send + 'static,
{
    let user_id = user_of(&actor)?;
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let (team, _) = authorize(conn, team_id, user_id, action)?;
            let change_of = TeamChange {
                actor,
                user_id,
                team,
                now,
            };
            change(conn, change_of)
        })
    })
    .await
}

pub async fn create_team(
    pool: &DbPool,
    actor: Actor,
    name: TeamName,
    now: NaiveDateTime,
) -> Result<Team, TeamsError> {
    let user_id = user_of(&actor)?;
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let team = teams::insert(conn, name.as_str(), now)?;
            teams::add_member(conn, team.id, user_id, TeamRole::Owner, now)?;
            let detail = format!("Created the team \"{}\"", team.name);
            audit::record_for_team(conn, &actor, "team.created", team.id, None, &detail, now)?;
            Ok(team)
        })
    })
    .await
}

/// The teams the user belongs to, with their role in each.
pub async fn my_teams(pool: &DbPool, user_id: i32) -> Result<Vec<(Team, TeamRole)>, TeamsError> {
    db::run(pool, move |conn| Ok(teams::teams_of(conn, user_id)?)).await
}

/// Everything the team page shows.
pub struct TeamOverview {
    pub team: Team,
    pub my_role: TeamRole,
    pub members: Vec<Member>,
    /// Owners only.
    pub invitations: Vec<Invitation>,
    pub apps: Vec<App>,
    /// Owners only.
    pub activity: Vec<AuditEvent>,
}

pub async fn overview(
    pool: &DbPool,
    team_id: i32,
    user_id: i32,
) -> Result<TeamOverview, TeamsError> {
    db::run(pool, move |conn| {
        db::read_transaction(conn, |conn| {
            let (team, my_role) = authorize(conn, team_id, user_id, TeamAction::View)?;
            // Who is invited, and as what, is the Owners' business (and so is the Activity that
            // records it): anybody who saw an invited address could sign up with it and join as
            // that role.
            let (invitations, activity) = if may_manage(my_role) {
                (
                    teams::invitations(conn, team.id)?,
                    db::audit::recent_for_team(conn, team.id, 30)?,
                )
            } else {
                (Vec::new(), Vec::new())
            };
            Ok(TeamOverview {
                members: teams::members(conn, team.id)?,
                invitations,
                apps: db::apps::of_team(conn, team.id)?,
                activity,
                team,
                my_role,
            })
        })
    })
    .await
}

/// What came of an invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invited {
    /// The email has an account: it is a member now.
    Joined,
    /// Nobody has signed up with it yet: it joins when they do.
    Pending { team_name: String },
}

pub async fn invite(
    pool: &DbPool,
    actor: Actor,
    team_id: i32,
    email: Email,
    role: TeamRole,
    now: NaiveDateTime,
) -> Result<Invited, TeamsError> {
    change_team(pool, actor, team_id, Manage, now, move |conn, c| {
        let address = email.as_str();
        // Checked and counted in the write transaction that records the invitation, which
        // every instance takes in turn: concurrent invitations cannot overshoot.
        let day_ago = now - chrono::TimeDelta::hours(24);
        let sent = db::audit::count_by_actor_since(conn, c.user_id, &[ADDED, INVITED], day_ago)?;
        if sent >= MAX_INVITATIONS_PER_DAY {
            return Err(TeamsError::DailyInvitationLimit);
        }
        // An address nobody has proven yet is invited, not added: whoever signed up with it
        // joins only once the mailed link proves the address is theirs.
        let proven = users::find_by_email(conn, address)?
            .filter(|account| account.email_verified_at.is_some());
        if let Some(account) = proven {
            if !teams::add_member(conn, c.team.id, account.id, role, now)? {
                return Err(TeamsError::AlreadyMember(address.to_owned()));
            }
            c.record(conn, ADDED, &format!("Added {address} as {}", role.label()))?;
            return Ok(Invited::Joined);
        }
        if teams::count_invitations(conn, c.team.id)? >= MAX_PENDING_INVITATIONS {
            return Err(TeamsError::TooManyInvitations);
        }
        match teams::invite(conn, c.team.id, address, role, c.user_id, now) {
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                return Err(TeamsError::AlreadyInvited(address.to_owned()))
            }
            other => other?,
        }
        c.record(
            conn,
            INVITED,
            &format!("Invited {address} as {}", role.label()),
        )?;
        Ok(Invited::Pending {
            team_name: c.team.name,
        })
    })
    .await
}

pub async fn cancel_invitation(
    pool: &DbPool,
    actor: Actor,
    team_id: i32,
    invitation_id: i32,
    now: NaiveDateTime,
) -> Result<(), TeamsError> {
    change_team(pool, actor, team_id, Manage, now, move |conn, c| {
        // Another team's, accepted, or cancelled already: not there to cancel.
        let email = teams::cancel_invitation(conn, c.team.id, invitation_id)?
            .ok_or(TeamsError::NotFound)?;
        c.record(
            conn,
            "team.invitation_cancelled",
            &format!("Cancelled the invitation of {email}"),
        )
    })
    .await
}

/// Refuses a change that would leave the team without an Owner: `member` is an Owner about to
/// stop being one.
fn keep_an_owner(conn: &mut Conn, team_id: i32, member: TeamRole) -> Result<(), TeamsError> {
    if member == TeamRole::Owner && teams::count_owners(conn, team_id)? <= 1 {
        return Err(TeamsError::LastOwner);
    }
    Ok(())
}

fn email_of(conn: &mut Conn, user_id: i32) -> Result<String, TeamsError> {
    Ok(users::find(conn, user_id)?
        .map(|u| u.email)
        .unwrap_or_else(|| format!("user {user_id}")))
}

pub async fn change_role(
    pool: &DbPool,
    actor: Actor,
    team_id: i32,
    member_id: i32,
    role: TeamRole,
    now: NaiveDateTime,
) -> Result<(), TeamsError> {
    change_team(pool, actor, team_id, Manage, now, move |conn, c| {
        let current = teams::role_of(conn, c.team.id, member_id)?.ok_or(TeamsError::NotFound)?;
        if current == role {
            return Ok(());
        }
        if role != TeamRole::Owner {
            keep_an_owner(conn, c.team.id, current)?;
        }
        teams::set_role(conn, c.team.id, member_id, role)?;
        if current == TeamRole::Owner {
            withdraw_invitations_of(conn, &c, member_id)?;
        }
        let detail = format!(
            "Changed the role of {} from {} to {}",
            email_of(conn, member_id)?,
            current.label(),
            role.label()
        );
        c.record(conn, "team.role_changed", &detail)
    })
    .await
}

/// Removes a member, by an Owner (themselves too, if another Owner remains). Takes effect on
/// the member's next request: every page and form reads membership from the database.
pub async fn remove_member(
    pool: &DbPool,
    actor: Actor,
    team_id: i32,
    member_id: i32,
    now: NaiveDateTime,
) -> Result<(), TeamsError> {
    change_team(pool, actor, team_id, Manage, now, move |conn, c| {
        let (email, role) = take_out(conn, &c, member_id)?;
        let detail = format!("Removed {email} ({})", role.label());
        c.record(conn, "team.member_removed", &detail)
    })
    .await
}

/// The acting user leaves the team (any member, except the last Owner).
pub async fn leave(
    pool: &DbPool,
    actor: Actor,
    team_id: i32,
    now: NaiveDateTime,
) -> Result<(), TeamsError> {
    change_team(pool, actor, team_id, View, now, move |conn, c| {
        let (email, _) = take_out(conn, &c, c.user_id)?;
        c.record(conn, "team.member_left", &format!("{email} left the team"))
    })
    .await
}

/// Takes a member out of the team, keeping an Owner, and withdraws the invitations a departing
/// Owner sent: nobody keeps a way back in through an address they invited. Their email and
/// former role.
fn take_out(
    conn: &mut Conn,
    c: &TeamChange,
    member_id: i32,
) -> Result<(String, TeamRole), TeamsError> {
    let role = teams::role_of(conn, c.team.id, member_id)?.ok_or(TeamsError::NotFound)?;
    keep_an_owner(conn, c.team.id, role)?;
    let email = email_of(conn, member_id)?;
    teams::remove_member(conn, c.team.id, member_id)?;
    if role == TeamRole::Owner {
        withdraw_invitations_of(conn, c, member_id)?;
    }
    Ok((email, role))
}

/// Cancels the pending invitations `inviter` sent to the team, once they are no longer an
/// Owner of it.
fn withdraw_invitations_of(
    conn: &mut Conn,
    c: &TeamChange,
    inviter: i32,
) -> Result<(), TeamsError> {
    for email in teams::cancel_invitations_by(conn, c.team.id, inviter)? {
        let detail =
            format!("Withdrew the invitation of {email}: its sender is no longer an Owner");
        c.record(conn, "team.invitation_cancelled", &detail)?;
    }
    Ok(())
}

pub async fn rename(
    pool: &DbPool,
    actor: Actor,
    team_id: i32,
    name: TeamName,
    now: NaiveDateTime,
) -> Result<(), TeamsError> {
    change_team(pool, actor, team_id, Manage, now, move |conn, c| {
        if c.team.name == name.as_str() {
            return Ok(());
        }
        teams::rename(conn, c.team.id, name.as_str())?;
        let detail = format!(
            "Renamed the team from \"{}\" to \"{}\"",
            c.team.name,
            name.as_str()
        );
        c.record(conn, "team.renamed", &detail)
    })
    .await
}

/// What the delete confirmation shows an Owner: the team, and how many apps it owns.
pub async fn deletion(
    pool: &DbPool,
    team_id: i32,
    user_id: i32,
) -> Result<(Team, i64), TeamsError> {
    db::run(pool, move |conn| {
        let (team, _) = authorize(conn, team_id, user_id, TeamAction::Manage)?;
        let apps = db::apps::count_of_team(conn, team.id)?;
        Ok((team, apps))
    })
    .await
}

/// Deletes a team that owns no apps (production credentials are never orphaned or handed to
/// somebody by a deletion).
pub async fn delete(
    pool: &DbPool,
    actor: Actor,
    team_id: i32,
    now: NaiveDateTime,
) -> Result<String, TeamsError> {
    change_team(pool, actor, team_id, Manage, now, move |conn, c| {
        if db::apps::count_of_team(conn, c.team.id)? > 0 {
            return Err(TeamsError::StillOwnsApps);
        }
        teams::delete(conn, c.team.id)?;
        c.record(
            conn,
            "team.deleted",
            &format!("Deleted the team \"{}\"", c.team.name),
        )?;
        Ok(c.team.name)
    })
    .await
}

/// Accepts every invitation to the email of an account whose address has just been proven (or
/// that has just been created, when mail is not configured); call it in that transaction.
pub fn accept_invitations(
    conn: &mut Conn,
    user_id: i32,
    email: &str,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    let actor = Actor {
        user_id: Some(user_id),
        email: email.to_owned(),
        is_admin: false,
        ip: None,
        api_token: None,
    };
    for invitation in teams::take_invitations(conn, email)? {
        let role = invitation.role;
        // The team may have been deleted since: the invitation went with it.
        if teams::add_member(conn, invitation.team_id, user_id, role, now)? {
            let detail = format!("{email} signed up and joined as {}", role.label());
            audit::record_for_team(
                conn,
                &actor,
                "team.invitation_accepted",
                invitation.team_id,
                None,
                &detail,
                now,
            )?;
        }
    }
    Ok(())
}

/// Whether the user may add apps to the team: the New app form's and Move to team's choices.
pub fn may_add_apps(role: TeamRole) -> bool {
    access::decide_for_team(Some(role), TeamAction::AddApps) == Decision::Allowed
}

/// Whether the user manages the team: members, roles, its name, deleting it.
pub fn may_manage(role: TeamRole) -> bool {
    access::decide_for_team(Some(role), TeamAction::Manage) == Decision::Allowed
}
