//! The outbox: events written with the change that caused them, and their deliveries.
//!
//! Claims are safe across instances: on PostgreSQL the rows are locked with `FOR UPDATE SKIP
//! LOCKED` inside the caller's transaction, so two workers never take the same row; on SQLite
//! one write transaction at a time does the same.

use super::schema::{apps, client_secrets, deliveries, events, secret_notices, users, webhooks};
use super::secrets::SecretRow;
use super::Conn;
use crate::domain::TeamRole;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Insertable)]
#[diesel(table_name = events)]
pub struct NewEvent<'a> {
    pub event_type: &'a str,
    pub app_id: i32,
    pub data: &'a str,
    pub created_at: NaiveDateTime,
    /// Time-based events: recorded once per key, whichever instance finds them first.
    pub dedupe_key: Option<&'a str>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub id: i64,
    pub event_type: String,
    pub app_id: i32,
    pub data: String,
    pub created_at: NaiveDateTime,
}

/// Records an event; `false` when one with the same dedupe key exists already.
pub fn record(conn: &mut Conn, new: &NewEvent) -> QueryResult<bool> {
    let inserted = match conn {
        Conn::Sqlite(c) => diesel::insert_or_ignore_into(events::table)
            .values(new)
            .execute(c)?,
        Conn::Postgres(c) => diesel::insert_into(events::table)
            .values(new)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(inserted == 1)
}

/// Events not yet fanned out, oldest first, locked for the caller's transaction.
pub fn claim_events(conn: &mut Conn, limit: i64) -> QueryResult<Vec<EventRow>> {
    // A macro: `as_select` is typed by backend, so each arm builds its own query.
    macro_rules! pending {
        () => {
            events::table
                .filter(events::fanned_out_at.is_null())
                .order(events::id.asc())
                .limit(limit)
                .select(EventRow::as_select())
        };
    }
    match conn {
        Conn::Sqlite(c) => pending!().load(c),
        Conn::Postgres(c) => pending!().for_update().skip_locked().load(c),
    }
}

pub fn mark_fanned_out(conn: &mut Conn, event_id: i64, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(events::table.find(event_id))
        .set(events::fanned_out_at.eq(now))
        .execute(conn)
        .map(drop)
}

/// Who is mailed about an app: its creator for a personal app; a team's Owners and Developers
/// (who can act on it) for a team's app.
pub fn app_recipients(conn: &mut Conn, app_id: i32) -> QueryResult<Vec<String>> {
    let found: Option<(Option<i32>, String)> = apps::table
        .inner_join(users::table)
        .filter(apps::id.eq(app_id))
        .select((apps::team_id, users::email))
        .first(conn)
        .optional()?;
    match found {
        None => Ok(Vec::new()),
        Some((None, creator)) => Ok(vec![creator]),
        Some((Some(team_id), _)) => {
            super::teams::member_emails(conn, team_id, &[TeamRole::Owner, TeamRole::Developer])
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = deliveries)]
pub struct NewDelivery<'a> {
    pub event_id: i64,
    pub webhook_id: Option<i32>,
    pub recipient: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub next_attempt_at: NaiveDateTime,
}

pub fn insert_delivery(conn: &mut Conn, new: &NewDelivery) -> QueryResult<()> {
    diesel::insert_into(deliveries::table)
        .values(new)
        .execute(conn)
        .map(drop)
}

/// Deliveries neither delivered nor given up, due at `now`, and not leased by a live worker.
/// A macro: the query's type depends on where it is used.
macro_rules! due_deliveries {
    ($now:expr) => {
        deliveries::table
            .filter(deliveries::delivered_at.is_null())
            .filter(deliveries::gave_up_at.is_null())
            .filter(deliveries::next_attempt_at.le($now))
            .filter(
                deliveries::lease_until
                    .is_null()
                    .or(deliveries::lease_until.lt($now)),
            )
    };
}

/// A delivery taken by a worker, with what it needs to send it.
#[derive(Debug, Clone, Queryable)]
pub struct DueDelivery {
    pub id: i64,
    pub attempts: i32,
    pub created_at: NaiveDateTime,
    pub recipient: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_key_id: Option<String>,
    pub event: EventRow,
}

/// Takes up to `limit` deliveries that are due, leasing them until `lease_until` (a worker that
/// dies mid-send gives them back when the lease ends) and counting the attempt.
pub fn claim_due(
    conn: &mut Conn,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<DueDelivery>> {
    let due = || {
        due_deliveries!(now)
            .order(deliveries::next_attempt_at.asc())
            .limit(limit)
            .select(deliveries::id)
    };
    let ids: Vec<i64> = match conn {
        Conn::Sqlite(c) => due().load(c)?,
        Conn::Postgres(c) => due().for_update().skip_locked().load(c)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(deliveries::table.filter(deliveries::id.eq_any(&ids)))
        .set((
            deliveries::lease_until.eq(lease_until),
            deliveries::attempts.eq(deliveries::attempts + 1),
            deliveries::last_attempt_at.eq(now),
        ))
        .execute(conn)?;
    deliveries::table
        .inner_join(events::table)
        .left_join(webhooks::table)
        .filter(deliveries::id.eq_any(&ids))
        .select((
            deliveries::id,
            deliveries::attempts,
            deliveries::created_at,
            deliveries::recipient,
            webhooks::url.nullable(),
            webhooks::key_id.nullable(),
            EventRow::as_select(),
        ))
        .load(conn)
}

/// How an attempt went.
pub enum AttemptResult {
    Delivered {
        status: Option<i32>,
    },
    Failed {
        status: Option<i32>,
        error: String,
        retry_at: NaiveDateTime,
    },
    GaveUp {
        status: Option<i32>,
        error: String,
    },
}

pub fn record_attempt(
    conn: &mut Conn,
    delivery_id: i64,
    result: AttemptResult,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let row = deliveries::table.find(delivery_id);
    let none = None::<NaiveDateTime>;
    match result {
        AttemptResult::Delivered { status } => diesel::update(row)
            .set((
                deliveries::delivered_at.eq(now),
                deliveries::last_status.eq(status),
                deliveries::last_error.eq(None::<String>),
                deliveries::lease_until.eq(none),
            ))
            .execute(conn),
        AttemptResult::Failed {
            status,
            error,
            retry_at,
        } => diesel::update(row)
            .set((
                deliveries::next_attempt_at.eq(retry_at),
                deliveries::last_status.eq(status),
                deliveries::last_error.eq(error),
                deliveries::lease_until.eq(none),
            ))
            .execute(conn),
        AttemptResult::GaveUp { status, error } => diesel::update(row)
            .set((
                deliveries::gave_up_at.eq(now),
                deliveries::last_status.eq(status),
                deliveries::last_error.eq(error),
                deliveries::lease_until.eq(none),
            ))
            .execute(conn),
    }
    .map(drop)
}

/// Whether a worker has anything to do now: an event to fan out or a delivery due.
pub fn has_work(conn: &mut Conn, now: NaiveDateTime) -> QueryResult<bool> {
    let events_waiting = diesel::select(diesel::dsl::exists(
        events::table.filter(events::fanned_out_at.is_null()),
    ))
    .get_result::<bool>(conn)?;
    if events_waiting {
        return Ok(true);
    }
    diesel::select(diesel::dsl::exists(due_deliveries!(now))).get_result(conn)
}

/// A webhook delivery as the app page lists it.
#[derive(Debug, Clone, Queryable)]
pub struct DeliveryRow {
    pub event_type: String,
    pub created_at: NaiveDateTime,
    pub url: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<NaiveDateTime>,
    pub gave_up_at: Option<NaiveDateTime>,
}

/// The app's latest webhook deliveries, newest first.
pub fn recent_webhook_deliveries(
    conn: &mut Conn,
    app_id: i32,
    limit: i64,
) -> QueryResult<Vec<DeliveryRow>> {
    deliveries::table
        .inner_join(events::table)
        .inner_join(webhooks::table)
        .filter(webhooks::app_id.eq(app_id))
        .order(deliveries::id.desc())
        .limit(limit)
        .select((
            events::event_type,
            deliveries::created_at,
            webhooks::url,
            deliveries::attempts,
            deliveries::last_status,
            deliveries::last_error,
            deliveries::delivered_at,
            deliveries::gave_up_at,
        ))
        .load(conn)
}

/// Secrets not revoked by hand whose end falls after `from` and by `until`, and that have no
/// `kind` notice for that end yet; soonest first.
pub fn secrets_to_notify(
    conn: &mut Conn,
    kind: &str,
    from: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<Vec<SecretRow>> {
    client_secrets::table
        .left_join(
            secret_notices::table.on(secret_notices::secret_id
                .eq(client_secrets::id)
                .and(secret_notices::kind.eq(kind))
                .and(
                    secret_notices::end_at
                        .nullable()
                        .eq(client_secrets::expires_at),
                )),
        )
        .filter(secret_notices::secret_id.nullable().is_null())
        .filter(client_secrets::expires_at.gt(from))
        .filter(client_secrets::expires_at.le(until))
        .filter(
            client_secrets::revoked_at
                .is_null()
                .or(client_secrets::revoked_at
                    .nullable()
                    .eq(client_secrets::expires_at)
                    .assume_not_null()),
        )
        .order(client_secrets::expires_at.asc())
        .limit(500)
        .select(SecretRow::as_select())
        .load(conn)
}

/// Notes that the `kind` notice for this end was sent; `false` if another worker did first.
pub fn mark_notified(
    conn: &mut Conn,
    secret_id: i32,
    kind: &str,
    end_at: NaiveDateTime,
) -> QueryResult<bool> {
    let row = (
        secret_notices::secret_id.eq(secret_id),
        secret_notices::kind.eq(kind),
        secret_notices::end_at.eq(end_at),
    );
    let inserted = match conn {
        Conn::Sqlite(c) => diesel::insert_or_ignore_into(secret_notices::table)
            .values(row)
            .execute(c)?,
        Conn::Postgres(c) => diesel::insert_into(secret_notices::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(inserted == 1)
}

/// Deletes deliveries that ended (delivered or given up) and events fanned out before
/// `before`; what is left is what is still being delivered.
pub fn purge(conn: &mut Conn, before: NaiveDateTime) -> QueryResult<()> {
    diesel::delete(
        deliveries::table.filter(
            deliveries::delivered_at
                .lt(before)
                .or(deliveries::gave_up_at.lt(before)),
        ),
    )
    .execute(conn)?;
    let pending = deliveries::table
        .filter(deliveries::delivered_at.is_null())
        .filter(deliveries::gave_up_at.is_null())
        .select(deliveries::event_id);
    diesel::delete(
        events::table
            .filter(events::fanned_out_at.lt(before))
            .filter(events::id.ne_all(pending)),
    )
    .execute(conn)?;
    Ok(())
}
