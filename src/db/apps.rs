use super::schema::{apps, client_secrets};
use super::teams;
use super::Conn;
use crate::domain::TeamRole;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = apps)]
pub struct App {
    pub id: i32,
    pub owner_id: i32,
    pub name: String,
    pub client_id: String,
    pub redirect_uris: String,
    pub created_at: NaiveDateTime,
    /// The team that owns the app; `None` for a personal app of `owner_id`.
    pub team_id: Option<i32>,
}

#[derive(Insertable)]
#[diesel(table_name = apps)]
pub struct NewApp<'a> {
    pub owner_id: i32,
    pub name: &'a str,
    pub client_id: &'a str,
    pub redirect_uris: &'a str,
    pub created_at: NaiveDateTime,
    pub team_id: Option<i32>,
}

/// One row of "My Apps": the app plus a summary of its secrets.
#[derive(Debug, Clone)]
pub struct AppSummary {
    pub app: App,
    pub active_secrets: i64,
    pub last_used_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut Conn, new: &NewApp) -> QueryResult<App> {
    // Diesel's MultiConnection cannot return a `Selectable` struct; read it back by id.
    let id = diesel::insert_into(apps::table)
        .values(new)
        .returning(apps::id)
        .get_result::<i32>(conn)?;
    apps::table.find(id).select(App::as_select()).first(conn)
}

/// The app and the user's role in the team that owns it (`None` for a personal app or for
/// somebody outside the team): what [`crate::domain::access::decide`] needs.
pub fn find_with_role(
    conn: &mut Conn,
    id: i32,
    user_id: i32,
) -> QueryResult<Option<(App, Option<TeamRole>)>> {
    let Some(app) = find(conn, id)? else {
        return Ok(None);
    };
    let role = match app.team_id {
        Some(team_id) => teams::role_of(conn, team_id, user_id)?,
        None => None,
    };
    Ok(Some((app, role)))
}

/// The user's personal apps and the apps of the teams listed, newest first.
pub fn list_with_summary(
    conn: &mut Conn,
    user_id: i32,
    team_ids: &[i32],
) -> QueryResult<Vec<AppSummary>> {
    let listed: Vec<App> = apps::table
        .filter(
            apps::owner_id
                .eq(user_id)
                .and(apps::team_id.is_null())
                .or(apps::team_id.eq_any(team_ids)),
        )
        .order(apps::id.desc())
        .select(App::as_select())
        .load(conn)?;
    let ids: Vec<i32> = listed.iter().map(|a| a.id).collect();
    let secrets: Vec<(i32, Option<NaiveDateTime>, Option<NaiveDateTime>)> = client_secrets::table
        .filter(client_secrets::app_id.eq_any(&ids))
        .select((
            client_secrets::app_id,
            client_secrets::last_used_at,
            client_secrets::revoked_at,
        ))
        .load(conn)?;
    Ok(listed
        .into_iter()
        .map(|app| {
            let mine = secrets.iter().filter(|(app_id, _, _)| *app_id == app.id);
            let active_secrets = mine
                .clone()
                .filter(|(_, _, revoked)| revoked.is_none())
                .count() as i64;
            let last_used_at = mine.filter_map(|(_, used, _)| *used).max();
            AppSummary {
                app,
                active_secrets,
                last_used_at,
            }
        })
        .collect())
}

/// Gives the app to a team.
pub fn set_team(conn: &mut Conn, id: i32, team_id: i32) -> QueryResult<()> {
    diesel::update(apps::table.find(id))
        .set(apps::team_id.eq(team_id))
        .execute(conn)
        .map(drop)
}

pub fn set_redirect_uris(conn: &mut Conn, id: i32, stored: &str) -> QueryResult<()> {
    diesel::update(apps::table.find(id))
        .set(apps::redirect_uris.eq(stored))
        .execute(conn)
        .map(drop)
}

/// The team's apps, by name.
pub fn of_team(conn: &mut Conn, team_id: i32) -> QueryResult<Vec<App>> {
    apps::table
        .filter(apps::team_id.eq(team_id))
        .order((apps::name.asc(), apps::id.asc()))
        .select(App::as_select())
        .load(conn)
}

pub fn count_of_team(conn: &mut Conn, team_id: i32) -> QueryResult<i64> {
    apps::table
        .filter(apps::team_id.eq(team_id))
        .count()
        .get_result(conn)
}

pub fn find_by_client_id(conn: &mut Conn, client_id: &str) -> QueryResult<Option<App>> {
    apps::table
        .filter(apps::client_id.eq(client_id))
        .select(App::as_select())
        .first(conn)
        .optional()
}

/// Any app by id, whoever owns it: callers decide who may see it.
pub fn find(conn: &mut Conn, id: i32) -> QueryResult<Option<App>> {
    apps::table
        .find(id)
        .select(App::as_select())
        .first(conn)
        .optional()
}
