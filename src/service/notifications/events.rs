//! The events, and recording one in the caller's transaction (the outbox).

use crate::db::client_keys::ClientKeyRow;
use crate::db::notifications::{self as outbox, NewEvent};
use crate::db::secrets::SecretRow;
use crate::db::Conn;
use crate::domain::SecretHint;
use crate::service::audit::Actor;
use anyhow::Context;
use chrono::NaiveDateTime;
use serde_json::json;

/// The events Keyturn sends to webhooks.
pub const SECRET_CREATED: &str = "secret.created";
pub const SECRET_REVOKED: &str = "secret.revoked";
pub const SECRET_EXPIRING: &str = "secret.expiring";
pub const SECRET_EXPIRED: &str = "secret.expired";
pub const ROTATION_COMPLETED: &str = "rotation.completed";
/// Mail only: a scheduled revocation is a day away and the secret is still in use.
pub const REVOCATION_REMINDER: &str = "secret.revocation_reminder";
/// A public key (or JWKS URL) was added to an app, or revoked: as much a new way to
/// authenticate as a secret, so its owners hear of it the same way.
pub const KEY_ADDED: &str = "key.added";
pub const KEY_REVOKED: &str = "key.revoked";

/// Records an event about one of an app's secrets, in the caller's transaction. `dedupe`:
/// recorded at most once per key (time-based events). Returns whether it was recorded.
pub fn record(
    conn: &mut Conn,
    event_type: &str,
    secret: &SecretRow,
    actor: Option<&Actor>,
    now: NaiveDateTime,
    dedupe: Option<&str>,
) -> anyhow::Result<bool> {
    let (client_id, app_name) = crate::db::apps::find(conn, secret.app_id)
        .context("loading the app of an event")?
        .map(|app| (app.client_id, app.name))
        .unwrap_or_default();
    let mut data = json!({
        "client_id": client_id,
        "app_name": app_name,
        "secret_id": secret.id,
        "hint": SecretHint::from_stored(secret.hint.clone()).to_string(),
        "label": secret.label,
    });
    if let Some(end) = secret.expires_at {
        data["expires_at"] = json!(rfc3339(end));
        // Whether the end is the secret's lifetime or a revocation its owner scheduled.
        let ends_by = if secret.lifetime_ends_at == Some(end) {
            "lifetime"
        } else {
            "scheduled_revocation"
        };
        data["ends_by"] = json!(ends_by);
    }
    if secret.quiet_for_secret_id.is_some() {
        data["revoke_when_quiet"] = json!(true);
    }
    if let Some(actor) = actor {
        data["actor"] = json!(actor.email);
        data["by_admin"] = json!(actor.is_admin);
    }
    let data = data.to_string();
    outbox::record(
        conn,
        &NewEvent {
            event_type,
            app_id: secret.app_id,
            data: &data,
            created_at: now,
            dedupe_key: dedupe,
        },
    )
    .context("recording an event")
}

/// Records an event about one of an app's public keys, in the caller's transaction.
pub fn record_key(
    conn: &mut Conn,
    event_type: &str,
    key: &ClientKeyRow,
    actor: &Actor,
    now: NaiveDateTime,
) -> anyhow::Result<bool> {
    let (client_id, app_name) = crate::db::apps::find(conn, key.app_id)
        .context("loading the app of an event")?
        .map(|app| (app.client_id, app.name))
        .unwrap_or_default();
    let data = json!({
        "client_id": client_id,
        "app_name": app_name,
        "key_id": key.id,
        "kid": (!key.kid.is_empty()).then_some(&key.kid),
        "jwks_url": key.jwks_url,
        "algorithm": key.algorithm,
        "actor": actor.email,
        "by_admin": actor.is_admin,
    })
    .to_string();
    outbox::record(
        conn,
        &NewEvent {
            event_type,
            app_id: key.app_id,
            data: &data,
            created_at: now,
            dedupe_key: None,
        },
    )
    .context("recording an event")
}

fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
