//! The admin review of every app and secret: search, filters, sorting, pages of 50, the stale
//! secrets view, CSV export, and revoking any secret.

use super::access::path_id;
use super::secrets::{
    revoke_confirmed, revoke_return_path, status_words, ConfirmRevoke, RevokeChoices, RevokeFields,
    SecretView,
};
use super::security::require_recent_authentication;
use super::{html, html_sized, Page, TimeView};
use crate::db::admin::{
    AdminFilter, AdminRow, AdminSort, Matches, OwnerFilter, StatusFilter, UnusedFilter, Window,
};
use crate::db::{apps::App, secrets::SecretRow};
use crate::domain::{SecretHint, SecretStatus};
use crate::http::client_ip;
use crate::http::error::AppError;
use crate::http::session::{load_signed_in, return_path, ADMINS_ONLY};
use crate::http::{AdminUser, CsrfForm, TypedSession};
use crate::service::audit::Actor;
use crate::service::review;
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;
use std::ops::ControlFlow;

pub const PAGE_SIZE: i64 = 50;
/// Matches are counted up to this many; past it the review says "10,000+ rows".
const COUNT_CAP: i64 = 10_000;

/// The query string of `/admin` and `/admin/export.csv`.
#[derive(Debug, Default, Deserialize)]
pub struct AdminQuery {
    q: Option<String>,
    status: Option<String>,
    unused: Option<String>,
    days: Option<String>,
    sort: Option<String>,
    page: Option<String>,
    /// "personal", a team's id, or empty for every owner.
    team: Option<String>,
}

/// What the filter form shows as chosen.
struct Chosen {
    q: String,
    status: &'static str,
    unused: &'static str,
    days: String,
    sort: &'static str,
    team: String,
}

impl AdminQuery {
    fn parse(&self) -> Result<(AdminFilter, Chosen, i64), AppError> {
        let bad = |what: &str| AppError::BadRequest(format!("Unknown {what} in the filter."));
        let (status, status_name) = match self.status.as_deref().unwrap_or("all") {
            "" | "all" => (StatusFilter::All, "all"),
            "active" => (StatusFilter::Active, "active"),
            "expiring" => (StatusFilter::Expiring, "expiring"),
            "revoked" => (StatusFilter::Revoked, "revoked"),
            "expired" => (StatusFilter::Expired, "expired"),
            _ => return Err(bad("status")),
        };
        let days_text = self.days.clone().unwrap_or_default();
        let (unused, unused_name) = match self.unused.as_deref().unwrap_or("any") {
            "" | "any" => (UnusedFilter::Any, "any"),
            "never" => (UnusedFilter::Never, "never"),
            "days" => {
                let days: i64 = days_text
                    .trim()
                    .parse()
                    .ok()
                    .filter(|d| (1..=3650).contains(d))
                    .ok_or_else(|| {
                        AppError::BadRequest("Days must be a whole number from 1 to 3650.".into())
                    })?;
                (UnusedFilter::MoreThanDays(days), "days")
            }
            _ => return Err(bad("usage filter")),
        };
        let (sort, sort_name) = match self.sort.as_deref().unwrap_or("app") {
            "" | "app" => (AdminSort::App, "app"),
            "last_used" => (AdminSort::LastUsedOldest, "last_used"),
            "last_used_desc" => (AdminSort::LastUsedNewest, "last_used_desc"),
            "newest" => (AdminSort::NewestSecret, "newest"),
            _ => return Err(bad("sort order")),
        };
        let page = match self.page.as_deref() {
            None | Some("") => 1,
            // Bounded, so the offset can never overflow.
            Some(p) => p
                .parse::<i64>()
                .ok()
                .filter(|p| (1..=MAX_PAGE).contains(p))
                .ok_or_else(|| {
                    AppError::BadRequest(format!("The page must be a number from 1 to {MAX_PAGE}."))
                })?,
        };
        let team = self.team.clone().unwrap_or_default();
        let owner = match team.trim() {
            "" | "any" => OwnerFilter::Any,
            "personal" => OwnerFilter::Personal,
            id => OwnerFilter::Team(id.parse().map_err(|_| bad("owner"))?),
        };
        let search = self.q.clone().filter(|q| !q.trim().is_empty());
        if search.as_ref().is_some_and(|q| q.chars().count() > 200) {
            return Err(AppError::BadRequest("The search is too long.".into()));
        }
        let chosen = Chosen {
            q: search.clone().unwrap_or_default(),
            status: status_name,
            unused: unused_name,
            days: days_text,
            sort: sort_name,
            team,
        };
        Ok((
            AdminFilter {
                search,
                owner,
                status,
                unused,
                sort,
            },
            chosen,
            page,
        ))
    }
}

/// The highest page number asked for that is answered (a million pages of 50 secrets).
const MAX_PAGE: i64 = 1_000_000;

/// The filter as a query string, to keep it across pages and in the CSV link.
fn query_string(chosen: &Chosen) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("q", &chosen.q)
        .append_pair("status", chosen.status)
        .append_pair("unused", chosen.unused)
        .append_pair("days", &chosen.days)
        .append_pair("sort", chosen.sort)
        .append_pair("team", &chosen.team)
        .finish()
}

fn status_of(row: &AdminRow, now: NaiveDateTime) -> Option<SecretStatus> {
    row.secret_id
        .map(|_| SecretStatus::of(row.revoked_at, row.expires_at, now))
}

struct AdminRowView {
    /// Set on the first row of each run of rows of one app: the group heading.
    app_heading: bool,
    app_name: String,
    client_id: String,
    /// The team that owns the app, else the email of the person who does.
    owner: String,
    secret_id: Option<i32>,
    hint: String,
    label: String,
    created: Option<TimeView>,
    last_used: Option<TimeView>,
    status_kind: &'static str,
    status_text: &'static str,
    status_at: Option<TimeView>,
    live: bool,
}

/// The review's table rows: the same for every admin, so rendered once and reused.
#[derive(Template)]
#[template(path = "_admin_rows.html")]
struct AdminRows {
    rows: Vec<AdminRowView>,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AllApps {
    page: Page,
    rows_html: std::sync::Arc<str>,
    /// "55 rows", or "10,000+ rows" past the count's cap.
    count: String,
    page_number: i64,
    /// Known while the count is exact.
    pages: Option<i64>,
    /// Whether another page follows.
    more: bool,
    chosen: Chosen,
    query: String,
    /// The owner filter's choices: (value, label).
    teams: Vec<(String, String)>,
}

/// Who owns the app, as the review and the CSV show it: its team, else the person.
fn owner_words(team_name: Option<&str>, owner_email: &str) -> String {
    match team_name {
        Some(team) => format!("Team {team}"),
        None => owner_email.to_owned(),
    }
}

pub async fn all_apps(
    req: HttpRequest,
    session: TypedSession,
    state: web::Data<AppState>,
    query: web::Query<AdminQuery>,
) -> Result<HttpResponse, AppError> {
    let (filter, chosen, page_number) = query.parse()?;
    let now = state.clock().now();
    let offset = (page_number - 1) * PAGE_SIZE;
    let cache = state.review_cache().clone();
    // The session check and the review in one trip to the database.
    let loaded = load_signed_in(&state, &session, move |conn, account| {
        if !account.is_admin {
            return Err(AppError::Forbidden(ADMINS_ONLY));
        }
        let window = Window {
            offset,
            limit: PAGE_SIZE,
            count_cap: COUNT_CAP,
        };
        let page = review::page_in(conn, &cache, filter, now, window, render_rows)?;
        Ok((page, review::teams_in(conn)?))
    })
    .await?;
    let Some((_, (found, teams))) = loaded else {
        return Err(AppError::LoginRequired {
            next: return_path(&req),
        });
    };
    let (count, pages) = match found.matches {
        Matches::Exactly(total) => (
            format!("{total} {}", if total == 1 { "row" } else { "rows" }),
            Some(((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1)),
        ),
        Matches::MoreThan(cap) => (format!("{}+ rows", thousands(cap)), None),
    };
    let query = query_string(&chosen);
    let rows_html = found.html;
    let extra = rows_html.len();
    html_sized(
        StatusCode::OK,
        &AllApps {
            page: Page::new(&session)?,
            rows_html,
            count,
            page_number,
            pages,
            more: found.more,
            chosen,
            query,
            teams: teams
                .into_iter()
                .map(|t| (t.id.to_string(), t.name))
                .collect(),
        },
        extra,
    )
}

/// A count of 10000 as "10,000".
fn thousands(count: i64) -> String {
    let digits = count.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn render_rows(rows: &[AdminRow], now: NaiveDateTime) -> anyhow::Result<String> {
    let mut previous_app = None;
    let rows = rows
        .iter()
        .map(|row| {
            let status = status_of(row, now);
            let (status_kind, status_text, at) =
                status
                    .map(status_words)
                    .unwrap_or(("none", "No secrets", None));
            let view = AdminRowView {
                app_heading: previous_app != Some(row.app_id),
                app_name: row.app_name.clone(),
                client_id: row.client_id.clone(),
                owner: owner_words(row.team_name.as_deref(), &row.owner_email),
                secret_id: row.secret_id,
                hint: row
                    .hint
                    .clone()
                    .map(|h| SecretHint::from_stored(h).to_string())
                    .unwrap_or_default(),
                label: row.label.clone().unwrap_or_default(),
                created: row.created_at.map(|t| TimeView::new(t, now)),
                last_used: row.last_used_at.map(|t| TimeView::new(t, now)),
                status_kind,
                status_text,
                status_at: at.map(|t| TimeView::new(t, now)),
                live: status.is_some_and(|s| s.is_live()),
            };
            previous_app = Some(row.app_id);
            view
        })
        .collect();
    Ok(AdminRows { rows }.render()?)
}

/// The export's first line.
const CSV_HEADER: &str = "app,client_id,owner,secret,label,created,last_used,status,status_at\r\n";
/// Rows go out in pieces of about this many bytes (the first as soon as it has a row).
const CSV_PIECE: usize = 32 * 1024;
/// Pieces written ahead of the client at most: the export's memory, whatever its length.
const CSV_PIECES_AHEAD: usize = 4;

/// `/admin/export.csv`: the same rows as the review, every page, as CSV, streamed: rows are
/// read, written and sent a piece at a time, so memory stays flat with a million rows and the
/// first bytes leave at once. A client that goes away stops the export. A database error
/// midway cannot change the status any more (it is sent): it breaks the download off, so the
/// client sees it unfinished rather than short but seemingly complete.
pub async fn export_csv(
    _: AdminUser,
    state: web::Data<AppState>,
    query: web::Query<AdminQuery>,
) -> Result<HttpResponse, AppError> {
    let (filter, _, _) = query.parse()?;
    let now = state.clock().now();
    let (pieces, received) =
        tokio::sync::mpsc::channel::<Result<web::Bytes, std::io::Error>>(CSV_PIECES_AHEAD);
    let pool = state.pool().clone();
    // The request's span (its id) goes along, for the error logged if the export fails.
    let span = tracing::Span::current();
    actix_web::rt::task::spawn_blocking(move || {
        let _request = span.enter();
        let mut piece = String::from(CSV_HEADER);
        let mut first = true;
        let exported = review::export_blocking(&pool, filter, now, |row| {
            push_csv_row(&mut piece, row, now);
            if !first && piece.len() < CSV_PIECE {
                return ControlFlow::Continue(());
            }
            first = false;
            let full = std::mem::replace(&mut piece, String::with_capacity(CSV_PIECE + 1024));
            match pieces.blocking_send(Ok(full.into())) {
                Ok(()) => ControlFlow::Continue(()),
                // The response was dropped: the client went away.
                Err(_) => ControlFlow::Break(()),
            }
        });
        let last = match exported {
            Ok(()) => Ok(piece.into()),
            Err(e) => {
                tracing::error!(error = ?e, "the CSV export failed midway");
                Err(std::io::Error::other("the export failed"))
            }
        };
        // Nobody to tell when the client is gone.
        let _ = pieces.blocking_send(last);
    });
    let body = futures_util::stream::unfold(received, |mut received| async move {
        received.recv().await.map(|piece| (piece, received))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"keyturn-secrets.csv\"",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}

/// One row of the export, its line ending included.
fn push_csv_row(out: &mut String, row: AdminRow, now: NaiveDateTime) {
    let iso = |t: Option<NaiveDateTime>| {
        t.map(|t| {
            t.and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
        .unwrap_or_default()
    };
    let status = status_of(&row, now).map(status_words);
    let owner = owner_words(row.team_name.as_deref(), &row.owner_email);
    let fields = [
        row.app_name,
        row.client_id,
        owner,
        row.hint
            .map(|h| SecretHint::from_stored(h).to_string())
            .unwrap_or_default(),
        row.label.unwrap_or_default(),
        iso(row.created_at),
        iso(row.last_used_at),
        status
            .map(|s| s.1.to_owned())
            .unwrap_or_else(|| "No secrets".into()),
        iso(status.and_then(|s| s.2)),
    ];
    let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

/// RFC 4180 quoting, and a leading `'` on anything a spreadsheet would run as a formula
/// (app names and labels are typed by developers).
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

struct StaleView {
    app_id: i32,
    app_name: String,
    owner: String,
    hint: String,
    label: String,
    secret_id: i32,
    created: TimeView,
    last_used: Option<TimeView>,
}

struct HalfDoneView {
    app_name: String,
    owner: String,
    both_live_since: TimeView,
    hints: String,
}

/// A live secret whose end is near.
struct ExpiringView {
    app_id: i32,
    app_name: String,
    owner: String,
    hint: String,
    label: String,
    ends: TimeView,
    /// Ends by a scheduled revocation rather than its lifetime.
    scheduled: bool,
}

#[derive(Template)]
#[template(path = "admin_stale.html")]
struct Stale {
    page: Page,
    stale: Vec<StaleView>,
    half_done: Vec<HalfDoneView>,
    expiring: Vec<ExpiringView>,
    warning_days: i64,
}

pub async fn stale(
    _: AdminUser,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock().now();
    let review::StaleReview {
        stale,
        half_done: live,
        expiring,
        warning_days,
    } = review::stale(state.pool(), now).await?;
    let expiring = expiring
        .into_iter()
        .map(|s| ExpiringView {
            app_id: s.app_id,
            owner: owner_words(s.team_name.as_deref(), &s.owner_email),
            app_name: s.app_name,
            hint: SecretHint::from_stored(s.secret.hint).to_string(),
            label: s.secret.label,
            ends: s
                .secret
                .expires_at
                .map(|t| TimeView::new(t, now))
                .unwrap_or_else(|| TimeView::new(now, now)),
            scheduled: s.secret.expires_at != s.secret.lifetime_ends_at,
        })
        .collect();
    let stale = stale
        .into_iter()
        .map(|s| StaleView {
            app_id: s.app_id,
            owner: owner_words(s.team_name.as_deref(), &s.owner_email),
            app_name: s.app_name,
            hint: SecretHint::from_stored(s.secret.hint).to_string(),
            label: s.secret.label,
            secret_id: s.secret.id,
            created: TimeView::new(s.secret.created_at, now),
            last_used: s.secret.last_used_at.map(|t| TimeView::new(t, now)),
        })
        .collect();
    let half_done = live
        .chunk_by(|a, b| a.app_id == b.app_id)
        .filter_map(|group| {
            let newer = group.last()?;
            let hints: Vec<String> = group
                .iter()
                .map(|s| SecretHint::from_stored(s.secret.hint.clone()).to_string())
                .collect();
            Some(HalfDoneView {
                app_name: newer.app_name.clone(),
                owner: owner_words(newer.team_name.as_deref(), &newer.owner_email),
                both_live_since: TimeView::new(newer.secret.created_at, now),
                hints: hints.join(", "),
            })
        })
        .collect();
    html(
        StatusCode::OK,
        &Stale {
            page: Page::new(&session)?,
            stale,
            half_done,
            expiring,
            warning_days,
        },
    )
}

/// Any secret and its app, by the `{secret_id}` in the URL.
async fn any_secret(state: &AppState, req: &HttpRequest) -> Result<(App, SecretRow), AppError> {
    let secret_id = path_id(req, "secret_id")?;
    review::any_secret(state.pool(), secret_id)
        .await?
        .ok_or(AppError::NotFound)
}

fn admin_view(row: SecretRow, now: NaiveDateTime) -> SecretView {
    let revoke_path = format!("/admin/secrets/{}/revoke", row.id);
    SecretView::new(row, None, now, "/admin", revoke_path)
}

pub async fn confirm_revoke(
    req: HttpRequest,
    _: AdminUser,
    session: TypedSession,
    state: web::Data<AppState>,
    chosen: web::Query<RevokeChoices>,
) -> Result<HttpResponse, AppError> {
    let (app, row) = any_secret(&state, &req).await?;
    let mut secret = admin_view(row, state.clock().now());
    secret.revoke_tokens = chosen.revoke_tokens.is_some();
    html(
        StatusCode::OK,
        &ConfirmRevoke {
            page: Page::new(&session)?,
            name: app.name,
            secret,
            hint_error: None,
        },
    )
}

pub async fn revoke(
    req: HttpRequest,
    AdminUser(admin): AdminUser,
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<RevokeFields>,
) -> Result<HttpResponse, AppError> {
    let (app, row) = any_secret(&state, &req).await?;
    let view = admin_view(row, state.clock().now());
    require_recent_authentication(&state, &admin, revoke_return_path(&view, &fields))?;
    let actor = Actor::new(&admin, client_ip(&req));
    revoke_confirmed(&state, &session, app, view, fields, actor).await
}
