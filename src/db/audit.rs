//! The audit log: who did what, when, from where. Never a secret.

use super::schema::audit_events;
use super::Conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEvent<'a> {
    pub at: NaiveDateTime,
    pub actor_id: Option<i32>,
    pub actor_email: &'a str,
    pub actor_is_admin: bool,
    pub action: &'a str,
    pub app_id: Option<i32>,
    pub secret_id: Option<i32>,
    pub detail: &'a str,
    pub ip: Option<&'a str>,
    pub team_id: Option<i32>,
    pub api_token_name: Option<&'a str>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub at: NaiveDateTime,
    pub actor_email: String,
    pub actor_is_admin: bool,
    pub action: String,
    pub detail: String,
    pub ip: Option<String>,
    pub api_token_name: Option<String>,
}

impl AuditEvent {
    /// Who acted, as Activity lists say it: "ann@example.com (admin)",
    /// "ann@example.com (API token deploy)".
    pub fn actor(&self) -> String {
        match (&self.api_token_name, self.actor_is_admin) {
            (Some(token), _) => format!("{} (API token {token})", self.actor_email),
            (None, true) => format!("{} (admin)", self.actor_email),
            (None, false) => self.actor_email.clone(),
        }
    }
}

pub fn insert(conn: &mut Conn, event: &NewAuditEvent) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values(event)
        .execute(conn)
        .map(drop)
}

/// The app's most recent events, newest first.
pub fn recent_for_app(conn: &mut Conn, app_id: i32, limit: i64) -> QueryResult<Vec<AuditEvent>> {
    audit_events::table
        .filter(audit_events::app_id.eq(app_id))
        .order(audit_events::id.desc())
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)
}

/// What was done to the account itself (sign-ins, second factors, passwords), newest first.
pub fn recent_for_account(
    conn: &mut Conn,
    user_id: i32,
    limit: i64,
) -> QueryResult<Vec<AuditEvent>> {
    audit_events::table
        .filter(audit_events::actor_id.eq(user_id))
        .filter(audit_events::action.like("account.%"))
        .order(audit_events::id.desc())
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)
}

/// The latest events of one kind, newest first (for changes that belong to no app).
pub fn recent_of_kind(conn: &mut Conn, action: &str, limit: i64) -> QueryResult<Vec<AuditEvent>> {
    audit_events::table
        .filter(audit_events::action.eq(action))
        .order(audit_events::id.desc())
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)
}

/// The team's most recent events (membership, roles, invitations, apps moved in), newest first.
pub fn recent_for_team(conn: &mut Conn, team_id: i32, limit: i64) -> QueryResult<Vec<AuditEvent>> {
    audit_events::table
        .filter(audit_events::team_id.eq(team_id))
        .order(audit_events::id.desc())
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)
}

/// How many times `actor_id` did one of `actions` since `since`.
pub fn count_by_actor_since(
    conn: &mut Conn,
    actor_id: i32,
    actions: &[&str],
    since: NaiveDateTime,
) -> QueryResult<i64> {
    audit_events::table
        .filter(audit_events::actor_id.eq(actor_id))
        .filter(audit_events::action.eq_any(actions))
        .filter(audit_events::at.gt(since))
        .count()
        .get_result(conn)
}
