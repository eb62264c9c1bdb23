//! Teams, their members and their pending invitations.

use super::schema::{team_invitations, team_members, teams, users};
use super::Conn;
use crate::domain::TeamRole;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = teams)]
pub struct Team {
    pub id: i32,
    pub name: String,
    pub created_at: NaiveDateTime,
}

/// A member of a team, with the email that names them on the page.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: i32,
    pub email: String,
    pub role: TeamRole,
    pub joined_at: NaiveDateTime,
}

/// An invitation waiting for its email to sign up.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: i32,
    pub team_id: i32,
    pub email: String,
    pub role: TeamRole,
    pub created_at: NaiveDateTime,
}

type InvitationColumns = (
    team_invitations::id,
    team_invitations::team_id,
    team_invitations::email,
    team_invitations::role,
    team_invitations::created_at,
);
const INVITATION: InvitationColumns = (
    team_invitations::id,
    team_invitations::team_id,
    team_invitations::email,
    team_invitations::role,
    team_invitations::created_at,
);

fn invitation(
    (id, team_id, email, stored, created_at): (i32, i32, String, String, NaiveDateTime),
) -> Invitation {
    Invitation {
        id,
        team_id,
        email,
        role: role(&stored),
        created_at,
    }
}

/// The stored role; the column's CHECK admits nothing else.
fn role(stored: &str) -> TeamRole {
    TeamRole::parse(stored).unwrap_or(TeamRole::Viewer)
}

pub fn insert(conn: &mut Conn, name: &str, now: NaiveDateTime) -> QueryResult<Team> {
    let id = diesel::insert_into(teams::table)
        .values((teams::name.eq(name), teams::created_at.eq(now)))
        .returning(teams::id)
        .get_result::<i32>(conn)?;
    teams::table.find(id).select(Team::as_select()).first(conn)
}

pub fn find(conn: &mut Conn, id: i32) -> QueryResult<Option<Team>> {
    teams::table
        .find(id)
        .select(Team::as_select())
        .first(conn)
        .optional()
}

/// Every team, by name (the admin review's filter).
pub fn all(conn: &mut Conn) -> QueryResult<Vec<Team>> {
    teams::table
        .order((teams::name.asc(), teams::id.asc()))
        .select(Team::as_select())
        .load(conn)
}

pub fn rename(conn: &mut Conn, id: i32, name: &str) -> QueryResult<()> {
    diesel::update(teams::table.find(id))
        .set(teams::name.eq(name))
        .execute(conn)
        .map(drop)
}

/// Deletes the team with its members and invitations (apps refuse it: see the migration).
pub fn delete(conn: &mut Conn, id: i32) -> QueryResult<()> {
    diesel::delete(teams::table.find(id))
        .execute(conn)
        .map(drop)
}

/// The user's role in the team, or `None` if they are not a member.
pub fn role_of(conn: &mut Conn, team_id: i32, user_id: i32) -> QueryResult<Option<TeamRole>> {
    let stored: Option<String> = team_members::table
        .find((team_id, user_id))
        .select(team_members::role)
        .first(conn)
        .optional()?;
    Ok(stored.as_deref().map(role))
}

/// Adds a member; `false` if they already were one (their role is left as it was).
pub fn add_member(
    conn: &mut Conn,
    team_id: i32,
    user_id: i32,
    role: TeamRole,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    // The upsert that ignores is written per backend (the MultiConnection has none).
    let inserted = on_backend!(conn, c => diesel::insert_into(team_members::table)
        .values((
            team_members::team_id.eq(team_id),
            team_members::user_id.eq(user_id),
            team_members::role.eq(role.as_str()),
            team_members::joined_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}

pub fn set_role(conn: &mut Conn, team_id: i32, user_id: i32, role: TeamRole) -> QueryResult<()> {
    diesel::update(team_members::table.find((team_id, user_id)))
        .set(team_members::role.eq(role.as_str()))
        .execute(conn)
        .map(drop)
}

pub fn remove_member(conn: &mut Conn, team_id: i32, user_id: i32) -> QueryResult<()> {
    diesel::delete(team_members::table.find((team_id, user_id)))
        .execute(conn)
        .map(drop)
}

pub fn count_owners(conn: &mut Conn, team_id: i32) -> QueryResult<i64> {
    team_members::table
        .filter(team_members::team_id.eq(team_id))
        .filter(team_members::role.eq(TeamRole::Owner.as_str()))
        .count()
        .get_result(conn)
}

/// The team's members: Owners first, then Developers, then Viewers, each by email.
pub fn members(conn: &mut Conn, team_id: i32) -> QueryResult<Vec<Member>> {
    let rows: Vec<(i32, String, String, NaiveDateTime)> = team_members::table
        .inner_join(users::table)
        .filter(team_members::team_id.eq(team_id))
        .order(users::email.asc())
        .select((
            team_members::user_id,
            users::email,
            team_members::role,
            team_members::joined_at,
        ))
        .load(conn)?;
    let mut members: Vec<Member> = rows
        .into_iter()
        .map(|(user_id, email, stored, joined_at)| Member {
            user_id,
            email,
            role: role(&stored),
            joined_at,
        })
        .collect();
    members.sort_by_key(|m| TeamRole::ALL.iter().position(|r| *r == m.role));
    Ok(members)
}

/// The teams the user belongs to, with their role in each, by name.
pub fn teams_of(conn: &mut Conn, user_id: i32) -> QueryResult<Vec<(Team, TeamRole)>> {
    let rows: Vec<(Team, String)> = teams::table
        .inner_join(team_members::table)
        .filter(team_members::user_id.eq(user_id))
        .order((teams::name.asc(), teams::id.asc()))
        .select((Team::as_select(), team_members::role))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(team, stored)| (team, role(&stored)))
        .collect())
}

/// The emails of the members with one of `roles`: who is told about the team's apps.
pub fn member_emails(
    conn: &mut Conn,
    team_id: i32,
    roles: &[TeamRole],
) -> QueryResult<Vec<String>> {
    let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    team_members::table
        .inner_join(users::table)
        .filter(team_members::team_id.eq(team_id))
        .filter(team_members::role.eq_any(roles))
        .order(users::email.asc())
        .select(users::email)
        .load(conn)
}

/// Records an invitation; a second one to the same email for the same team is a unique
/// violation.
pub fn invite(
    conn: &mut Conn,
    team_id: i32,
    email: &str,
    role: TeamRole,
    invited_by: i32,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(team_invitations::table)
        .values((
            team_invitations::team_id.eq(team_id),
            team_invitations::email.eq(email),
            team_invitations::role.eq(role.as_str()),
            team_invitations::invited_by.eq(invited_by),
            team_invitations::created_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

pub fn count_invitations(conn: &mut Conn, team_id: i32) -> QueryResult<i64> {
    team_invitations::table
        .filter(team_invitations::team_id.eq(team_id))
        .count()
        .get_result(conn)
}

/// Deletes the team's invitations that `inviter` sent; the emails they were for.
pub fn cancel_invitations_by(
    conn: &mut Conn,
    team_id: i32,
    inviter: i32,
) -> QueryResult<Vec<String>> {
    let mine = team_invitations::table
        .filter(team_invitations::team_id.eq(team_id))
        .filter(team_invitations::invited_by.eq(inviter));
    let emails = mine.select(team_invitations::email).load(conn)?;
    diesel::delete(mine).execute(conn)?;
    Ok(emails)
}

pub fn invitations(conn: &mut Conn, team_id: i32) -> QueryResult<Vec<Invitation>> {
    let rows = team_invitations::table
        .filter(team_invitations::team_id.eq(team_id))
        .order(team_invitations::email.asc())
        .select(INVITATION)
        .load(conn)?;
    Ok(rows.into_iter().map(invitation).collect())
}

/// Deletes one of the team's invitations; the email it was for, if it existed.
pub fn cancel_invitation(conn: &mut Conn, team_id: i32, id: i32) -> QueryResult<Option<String>> {
    let email = team_invitations::table
        .filter(team_invitations::id.eq(id))
        .filter(team_invitations::team_id.eq(team_id))
        .select(team_invitations::email)
        .first(conn)
        .optional()?;
    diesel::delete(
        team_invitations::table
            .filter(team_invitations::id.eq(id))
            .filter(team_invitations::team_id.eq(team_id)),
    )
    .execute(conn)?;
    Ok(email)
}

/// Removes and returns every invitation to this email (accepted when it signs up).
pub fn take_invitations(conn: &mut Conn, email: &str) -> QueryResult<Vec<Invitation>> {
    let rows = team_invitations::table
        .filter(team_invitations::email.eq(email))
        .order(team_invitations::id.asc())
        .select(INVITATION)
        .load(conn)?;
    diesel::delete(team_invitations::table.filter(team_invitations::email.eq(email)))
        .execute(conn)?;
    Ok(rows.into_iter().map(invitation).collect())
}
