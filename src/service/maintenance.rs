//! Housekeeping, once a minute: expired tokens, ended sessions, old throttle counts, mailed
//! links, unfinished passkey ceremonies, expired client assertions' jti and notifications
//! delivered long ago are deleted, so the tables stay the size of what is live.

use crate::db::{self, writer::Writer};
use crate::infra::throttle;
use crate::service::sessions::Timeouts;
use crate::service::tokens;
use chrono::NaiveDateTime;

/// How long delivered (or abandoned) notifications are kept.
const NOTIFICATIONS_KEPT: chrono::TimeDelta = chrono::TimeDelta::days(30);

/// One round of purging; failures are logged and retried at the next round.
pub fn purge_once(writer: &Writer, timeouts: Timeouts, now: NaiveDateTime) {
    if let Err(e) = tokens::purge_expired(writer, now) {
        tracing::warn!(error = format!("{e:#}"), "purging expired tokens failed");
    }
    let purged = writer.run_blocking(move |conn| {
        db::sessions::purge_expired(conn, now - timeouts.idle, now - timeouts.max_age)?;
        // Deliveries are listed on the app page for a while, then go.
        db::notifications::purge(conn, now - NOTIFICATIONS_KEPT)?;
        // Mailed links a day after they ended (a used one says "does not work" meanwhile),
        // and WebAuthn ceremonies never finished.
        db::account_links::purge_expired(conn, now - chrono::TimeDelta::days(1))?;
        db::passkeys::purge_expired_challenges(conn, now)?;
        // Callers are shown for a day; ended API tokens for a month.
        db::secrets::purge_callers(conn, now - crate::service::apps::CALLERS_SHOWN)?;
        crate::service::api_tokens::purge(conn, now)?;
        // A client assertion's jti is needed only until the assertion expires; kept five
        // minutes longer, for instances whose clocks run behind this one's.
        db::client_keys::forget_expired_assertions(conn, now - chrono::TimeDelta::minutes(5))?;
        db::throttle::purge(conn, now - throttle::WINDOW)
    });
    if let Err(e) = purged {
        tracing::warn!(error = format!("{e:#}"), "purging ended sessions failed");
    }
}
