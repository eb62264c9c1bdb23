use super::schema::{apps, client_secrets};
use super::Conn;
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
}

#[derive(Insertable)]
#[diesel(table_name = apps)]
pub struct NewApp<'a> {
    pub owner_id: i32,
    pub name: &'a str,
    pub client_id: &'a str,
    pub redirect_uris: &'a str,
    pub created_at: NaiveDateTime,
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

/// The app, but only if `owner_id` owns it: other people's apps do not exist for the caller.
pub fn find_owned(conn: &mut Conn, id: i32, owner_id: i32) -> QueryResult<Option<App>> {
    apps::table
        .filter(apps::id.eq(id).and(apps::owner_id.eq(owner_id)))
        .select(App::as_select())
        .first(conn)
        .optional()
}

pub fn list_owned_with_summary(conn: &mut Conn, owner_id: i32) -> QueryResult<Vec<AppSummary>> {
    let owned: Vec<App> = apps::table
        .filter(apps::owner_id.eq(owner_id))
        .order(apps::id.desc())
        .select(App::as_select())
        .load(conn)?;
    let ids: Vec<i32> = owned.iter().map(|a| a.id).collect();
    let secrets: Vec<(i32, Option<NaiveDateTime>, Option<NaiveDateTime>)> = client_secrets::table
        .filter(client_secrets::app_id.eq_any(&ids))
        .select((
            client_secrets::app_id,
            client_secrets::last_used_at,
            client_secrets::revoked_at,
        ))
        .load(conn)?;
    Ok(owned
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

pub fn find_by_client_id(conn: &mut Conn, client_id: &str) -> QueryResult<Option<App>> {
    apps::table
        .filter(apps::client_id.eq(client_id))
        .select(App::as_select())
        .first(conn)
        .optional()
}

/// Any app by id, whoever owns it (admins only).
pub fn find(conn: &mut Conn, id: i32) -> QueryResult<Option<App>> {
    apps::table
        .find(id)
        .select(App::as_select())
        .first(conn)
        .optional()
}
