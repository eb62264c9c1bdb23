//! Who is acting, for the audit log. Every change to a secret is recorded with its actor; the
//! log holds hints and labels at most, never a secret.

use crate::db::{audit, Conn};
use crate::domain::Account;
use chrono::NaiveDateTime;

/// The signed-in person making a change, and where from.
#[derive(Debug, Clone)]
pub struct Actor {
    /// `None` for an OAuth client acting on its own tokens.
    pub user_id: Option<i32>,
    pub email: String,
    pub is_admin: bool,
    pub ip: Option<String>,
    /// The API token the person acted through, if not a browser.
    pub api_token: Option<ActingToken>,
}

impl Actor {
    pub fn new(account: &Account, ip: Option<String>) -> Self {
        Actor {
            user_id: Some(account.id),
            email: account.email.clone(),
            is_admin: account.is_admin,
            ip,
            api_token: None,
        }
    }

    /// Keyturn itself, carrying out what somebody scheduled.
    pub fn keyturn() -> Self {
        Actor {
            user_id: None,
            email: "Keyturn".to_owned(),
            is_admin: false,
            ip: None,
            api_token: None,
        }
    }

    /// An OAuth client, named by its client id.
    pub fn client(client_id: &str, ip: Option<String>) -> Self {
        Actor {
            user_id: None,
            email: format!("client {client_id}"),
            is_admin: false,
            ip,
            api_token: None,
        }
    }
}

/// An API token as an actor: its id (checked again by every change it makes) and its name (for
/// the Activity).
#[derive(Debug, Clone)]
pub struct ActingToken {
    pub id: i32,
    pub name: String,
}

/// Writes one event; call it inside the transaction that makes the change.
pub fn record(
    conn: &mut Conn,
    actor: &Actor,
    action: &str,
    app_id: Option<i32>,
    secret_id: Option<i32>,
    detail: &str,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    write(conn, actor, action, (app_id, secret_id, None), detail, now)
}

/// Writes one event of a team's Activity (and of the app's, for an app moved into it).
pub fn record_for_team(
    conn: &mut Conn,
    actor: &Actor,
    action: &str,
    team_id: i32,
    app_id: Option<i32>,
    detail: &str,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    write(
        conn,
        actor,
        action,
        (app_id, None, Some(team_id)),
        detail,
        now,
    )
}

fn write(
    conn: &mut Conn,
    actor: &Actor,
    action: &str,
    (app_id, secret_id, team_id): (Option<i32>, Option<i32>, Option<i32>),
    detail: &str,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    audit::insert(
        conn,
        &audit::NewAuditEvent {
            at: now,
            actor_id: actor.user_id,
            actor_email: &actor.email,
            actor_is_admin: actor.is_admin,
            action,
            app_id,
            secret_id,
            detail,
            ip: actor.ip.as_deref(),
            team_id,
            api_token_name: actor.api_token.as_ref().map(|t| t.name.as_str()),
        },
    )
}
