//! What a notification says: the webhook body and the mail's subject and text. Neither ever
//! holds a secret (hints and labels at most); only the mails of single-use account links carry
//! a link that acts by itself.

use super::events::{
    KEY_ADDED, KEY_REVOKED, REVOCATION_REMINDER, ROTATION_COMPLETED, SECRET_CREATED,
    SECRET_EXPIRED, SECRET_EXPIRING, SECRET_REVOKED,
};
use crate::db::notifications::EventRow;
use crate::domain::MailedLink;
use serde_json::{json, Value};

/// Whether the event goes to the app's webhooks.
pub fn for_webhooks(event_type: &str) -> bool {
    [
        SECRET_CREATED,
        SECRET_REVOKED,
        SECRET_EXPIRING,
        SECRET_EXPIRED,
        ROTATION_COMPLETED,
        KEY_ADDED,
        KEY_REVOKED,
    ]
    .contains(&event_type)
}

/// Whether the event is mailed to the app's owner.
pub fn for_mail(event_type: &str) -> bool {
    [
        SECRET_CREATED,
        SECRET_REVOKED,
        SECRET_EXPIRING,
        SECRET_EXPIRED,
        REVOCATION_REMINDER,
        KEY_ADDED,
        KEY_REVOKED,
    ]
    .contains(&event_type)
}

/// The Standard Webhooks body: `{"type", "timestamp", "data"}`.
pub fn webhook_body(event: &EventRow) -> String {
    let data: Value = serde_json::from_str(&event.data).unwrap_or_else(|_| json!({}));
    let data = match data {
        Value::Object(mut fields) => {
            // Who did it stays in the owner's mail and the app's Activity.
            fields.remove("actor");
            fields.remove("by_admin");
            Value::Object(fields)
        }
        other => other,
    };
    json!({
        "type": event.event_type,
        "timestamp": event
            .created_at
            .and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": data,
    })
    .to_string()
}

/// The subject and text of the owner's mail about `event`.
pub fn mail(event: &EventRow, app_page: &str) -> (String, String) {
    let data: Value = serde_json::from_str(&event.data).unwrap_or_else(|_| json!({}));
    let text = |name: &str| data[name].as_str().unwrap_or_default().to_owned();
    let app = text("app_name");
    // "ending in a1b2": plain ASCII, so the mail reads the same in every client.
    let hint = text("hint");
    let last_four: String = hint
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let hint = format!("ending in {last_four}");
    let label = match text("label") {
        label if label.is_empty() => String::new(),
        label => format!(" (\"{label}\")"),
    };
    let by = match (data["actor"].as_str(), data["by_admin"].as_bool()) {
        (Some(actor), Some(true)) => format!(" by {actor}, an admin"),
        (Some(actor), _) => format!(" by {actor}"),
        _ => String::new(),
    };
    let ends = data["expires_at"]
        .as_str()
        .map(|at| format!(" It stops working at {at}."))
        .unwrap_or_default();
    let when_quiet = data["revoke_when_quiet"].as_bool() == Some(true);
    let (subject, what) = match event.event_type.as_str() {
        SECRET_REVOKED if when_quiet && by.is_empty() => (
            format!("Client secret {hint} of {app} revoked when quiet"),
            format!("The client secret {hint}{label} of {app} was revoked automatically: the newer secret is in use, and this one went unused for 24 hours. It no longer works."),
        ),
        SECRET_EXPIRED if when_quiet => (
            format!("Client secret {hint} of {app} revoked at its 7-day deadline"),
            format!("The client secret {hint}{label} of {app} was to be revoked once it went quiet, but it was still in use after 7 days, so the deadline revoked it. Whatever still used it now fails: give it the newer secret."),
        ),
        SECRET_CREATED => (
            format!("New client secret for {app}"),
            format!("A new client secret {hint}{label} was generated for {app}{by}.{ends}"),
        ),
        SECRET_REVOKED => (
            format!("Client secret {hint} of {app} revoked"),
            format!("The client secret {hint}{label} of {app} was revoked{by}. It no longer works."),
        ),
        SECRET_EXPIRING => (
            format!("Client secret {hint} of {app} expires soon"),
            format!("The client secret {hint}{label} of {app} is about to end.{ends} Generate a new secret, move your app to it, then revoke this one."),
        ),
        SECRET_EXPIRED => (
            format!("Client secret {hint} of {app} expired"),
            format!("The client secret {hint}{label} of {app} has expired and no longer works."),
        ),
        KEY_ADDED | KEY_REVOKED => {
            let key = match (data["kid"].as_str(), data["jwks_url"].as_str()) {
                (_, Some(url)) => format!("JWKS URL {url}"),
                (Some(kid), None) => format!("public key {kid}"),
                (None, None) => "public key".to_owned(),
            };
            if event.event_type == KEY_ADDED {
                (
                    format!("New public key for {app}"),
                    format!("The {key} was added to {app}{by}: client assertions signed with it now authenticate as the app."),
                )
            } else {
                (
                    format!("The {key} of {app} was revoked"),
                    format!("The {key} of {app} was revoked{by}. Assertions signed with it no longer work."),
                )
            }
        }
        REVOCATION_REMINDER => (
            format!("Client secret {hint} of {app} is revoked in 24 hours and still in use"),
            format!("The client secret {hint}{label} of {app} is scheduled to be revoked within 24 hours, and it was used in the last hour.{ends} Move your app to the newer secret, or cancel the schedule."),
        ),
        other => (format!("{other} for {app}"), format!("{other}: {hint}{label} of {app}.")),
    };
    let body = format!(
        "{what}\n\nClient ID: {}\nApp page: {app_page}\n\nThis mail never contains a secret. Keyturn\n",
        text("client_id")
    );
    (format!("Keyturn: {subject}"), body)
}

/// The mail to an address invited to a team before it has an account.
pub fn invitation(team_name: &str, role: &str, signup_page: &str) -> (String, String) {
    (
        format!("You are invited to the team {team_name} on Keyturn"),
        format!(
            "You have been invited to join the team {team_name} on Keyturn as {role}.\n\n\
             Sign up with this email address to join it:\n{signup_page}\n\n\
             If you did not expect this, you can ignore this mail.\n"
        ),
    )
}

/// The mail that carries a single-use link: the only kind of mail whose content signs in.
pub fn account_link(link: &MailedLink, url: &str) -> (String, String) {
    match link {
        MailedLink::VerifyEmail(_) => (
            "Verify your email address for Keyturn".to_owned(),
            format!(
                "Open this link to verify the address of your Keyturn account:\n{url}\n\n\
                 It works once, for 24 hours. Until then your account cannot create apps or \
                 secrets, or join teams.\n\n\
                 If you did not sign up for Keyturn, ignore this mail.\n"
            ),
        ),
        MailedLink::ResetPassword(_) => (
            "Reset your Keyturn password".to_owned(),
            format!(
                "Somebody asked to reset the password of your Keyturn account. Open this link \
                 to choose a new one:\n{url}\n\n\
                 It works once, for 1 hour. Choosing a new password ends every session of the \
                 account.\n\n\
                 If it was not you, ignore this mail: your password stays as it is.\n"
            ),
        ),
    }
}
