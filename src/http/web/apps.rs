//! "My Apps", registering an app, and the app page with its secrets.

use super::account_links::VERIFY_EMAIL_FIRST;
use super::keys::KeysView;
use super::security::require_recent_authentication;
use super::webhooks::WebhooksView;
use super::{html, see_other, Page, TimeView};
use crate::db::apps::AppSummary;
use crate::db::secrets::SecretRow;
use crate::domain::{
    quiet_revocation_at, AppName, RedirectUris, SecretHint, SecretStatus, TeamRole,
};
use crate::http::client_ip;
use crate::http::error::AppError;
use crate::http::session::Flash;
use crate::http::session::{load_signed_in, return_path};
use crate::http::web::access::{path_id, EditForm, EditableApp};
use crate::http::web::secrets::{GenerateForm, SecretView};
use crate::http::{CsrfForm, CurrentUser, TypedSession};
use crate::service::apps::{self, AppsError, NewAppOwner};
use crate::service::audit::Actor;
use crate::service::notifications::webhooks;
use crate::service::policy;
use crate::service::teams;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

impl From<AppsError> for AppError {
    fn from(e: AppsError) -> Self {
        match e {
            AppsError::NotFound => AppError::NotFound,
            AppsError::Forbidden(message) => AppError::Forbidden(message),
            AppsError::Unexpected(cause) => AppError::Unexpected(cause),
        }
    }
}

struct AppRow {
    id: i32,
    name: String,
    client_id: String,
    active_secrets: i64,
    last_used: Option<TimeView>,
}

impl AppRow {
    fn new(s: &AppSummary, now: NaiveDateTime) -> Self {
        AppRow {
            id: s.app.id,
            name: s.app.name.clone(),
            client_id: s.app.client_id.clone(),
            active_secrets: s.active_secrets,
            last_used: s.last_used_at.map(|t| TimeView::new(t, now)),
        }
    }
}

/// One group of "My Apps": the personal apps, or one team's.
struct AppGroup {
    /// `None` for the personal apps.
    team_id: Option<i32>,
    title: String,
    role: &'static str,
    apps: Vec<AppRow>,
}

#[derive(Template)]
#[template(path = "apps.html")]
struct MyAppsPage {
    page: Page,
    groups: Vec<AppGroup>,
    empty: bool,
}

pub async fn list(
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let mine = apps::my_apps(state.pool(), user.id).await?;
    let now = state.clock().now();
    let empty = mine.all().next().is_none();
    let mut groups = vec![AppGroup {
        team_id: None,
        title: "Just me".to_owned(),
        role: "",
        apps: mine.personal.iter().map(|s| AppRow::new(s, now)).collect(),
    }];
    groups.extend(mine.teams.iter().map(|(team, role, apps)| AppGroup {
        team_id: Some(team.id),
        title: team.name.clone(),
        role: role.label(),
        apps: apps.iter().map(|s| AppRow::new(s, now)).collect(),
    }));
    html(
        StatusCode::OK,
        &MyAppsPage {
            page: Page::new(&session)?,
            groups,
            empty,
        },
    )
}

/// A choice of owner for a new app, or of a team to move an app to.
struct OwnerChoice {
    value: String,
    label: String,
    selected: bool,
}

/// "Just me" and the teams where the user may add apps, with `chosen` selected.
async fn owner_choices(
    state: &AppState,
    user_id: i32,
    just_me: bool,
    chosen: &str,
) -> Result<Vec<OwnerChoice>, AppError> {
    let teams = teams::my_teams(state.pool(), user_id).await?;
    let mut choices = Vec::new();
    if just_me {
        choices.push(OwnerChoice {
            value: "me".to_owned(),
            label: "Just me".to_owned(),
            selected: chosen == "me" || chosen.is_empty(),
        });
    }
    choices.extend(
        teams
            .into_iter()
            .filter(|(_, role)| teams::may_add_apps(*role))
            .map(|(team, _)| {
                let value = team.id.to_string();
                OwnerChoice {
                    selected: value == chosen,
                    value,
                    label: team.name,
                }
            }),
    );
    Ok(choices)
}

#[derive(Template)]
#[template(path = "app_new.html")]
struct NewAppForm {
    page: Page,
    name: String,
    redirect_uris: String,
    owners: Vec<OwnerChoice>,
    name_error: Option<String>,
    redirect_uris_error: Option<String>,
    owner_error: Option<String>,
}

#[derive(Deserialize)]
pub struct NewAppQuery {
    /// `?team=ID` preselects a team (the team page's "New app" link).
    team: Option<String>,
}

pub async fn new_form(
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    query: web::Query<NewAppQuery>,
) -> Result<HttpResponse, AppError> {
    if !user.email_verified {
        return Err(AppError::Forbidden(VERIFY_EMAIL_FIRST));
    }
    let chosen = query.into_inner().team.unwrap_or_default();
    html(
        StatusCode::OK,
        &NewAppForm {
            page: Page::new(&session)?,
            name: String::new(),
            redirect_uris: String::new(),
            owners: owner_choices(&state, user.id, true, &chosen).await?,
            name_error: None,
            redirect_uris_error: None,
            owner_error: None,
        },
    )
}

#[derive(Deserialize)]
pub struct NewAppFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    redirect_uris: String,
    /// "me" or a team's id; absent means "me" (forms from before teams existed).
    #[serde(default)]
    owner: String,
}

/// The owner field: "me", or the id of a team the user may add apps to.
fn parse_owner(raw: &str, choices: &[OwnerChoice]) -> Result<NewAppOwner, &'static str> {
    match raw {
        "" | "me" => Ok(NewAppOwner::JustMe),
        id => match (id.parse::<i32>(), choices.iter().any(|c| c.value == id)) {
            (Ok(team_id), true) => Ok(NewAppOwner::Team(team_id)),
            _ => Err("Choose yourself or one of your teams where you are an Owner or a Developer."),
        },
    }
}

pub async fn create(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<NewAppFields>,
) -> Result<HttpResponse, AppError> {
    if !user.email_verified {
        return Err(AppError::Forbidden(VERIFY_EMAIL_FIRST));
    }
    let owners = owner_choices(&state, user.id, true, &fields.owner).await?;
    let (name, redirect_uris, owner) = match (
        AppName::parse(&fields.name),
        RedirectUris::parse(&fields.redirect_uris),
        parse_owner(&fields.owner, &owners),
    ) {
        (Ok(name), Ok(uris), Ok(owner)) => (name, uris, owner),
        (name, uris, owner) => {
            let form = NewAppForm {
                page: Page::new(&session)?,
                name: fields.name,
                redirect_uris: fields.redirect_uris,
                owners,
                name_error: name.err().map(str::to_owned),
                redirect_uris_error: uris.err(),
                owner_error: owner.err().map(str::to_owned),
            };
            return html(StatusCode::BAD_REQUEST, &form);
        }
    };
    let actor = Actor::new(&user, client_ip(&req));
    let app = apps::create_app(
        state.pool(),
        actor,
        name,
        redirect_uris,
        owner,
        state.clock().now(),
    )
    .await?;
    session.set_flash(Flash::success(
        "App created. Generate a client secret below to start using it.",
    ))?;
    Ok(see_other(&format!("/apps/{}", app.id)))
}

struct ActivityView {
    at: TimeView,
    actor: String,
    detail: String,
    ip: String,
}

/// The note above the table while two secrets are live.
struct RotationNote {
    finished: bool,
    message: String,
}

fn rotation_note(rows: &[(SecretRow, Option<String>)], now: NaiveDateTime) -> Option<RotationNote> {
    let live: Vec<&SecretRow> = rows
        .iter()
        .map(|(row, _)| row)
        .filter(|r| SecretStatus::of(r.revoked_at, r.expires_at, now).is_live())
        .collect();
    let [a, b] = live.as_slice() else {
        return None;
    };
    let (older, newer) = if a.id < b.id { (a, b) } else { (b, a) };
    let hint = SecretHint::from_stored(older.hint.clone());
    if let (Some(_), Some(deadline)) = (older.quiet_for_secret_id, older.expires_at) {
        let new_hint = SecretHint::from_stored(newer.hint.clone());
        let deadline = TimeView::new(deadline, now).relative;
        let message = match newer.first_used_at {
            None => format!(
                "Revoking {hint} when quiet: waiting for the new secret {new_hint} to be used. Whatever happens, {hint} is revoked {deadline}."
            ),
            Some(first_use) => {
                let at = TimeView::new(quiet_revocation_at(older.last_used_at, first_use), now);
                format!(
                    "Revoking {hint} when quiet: the new secret {new_hint} is in use; waiting for {hint} to go unused for 24 hours. Unless it is used again, it is revoked {}; whatever happens, {deadline}.",
                    at.relative
                )
            }
        };
        return Some(RotationNote {
            finished: false,
            message,
        });
    }
    let quiet_since = now - super::secrets::RECENT_USE;
    Some(match older.last_used_at {
        Some(used) if used > quiet_since => RotationNote {
            finished: false,
            message: format!(
                "Rotation in progress: the older secret was last used {}. Revoke {hint} once your app no longer uses it.",
                TimeView::new(used, now).relative
            ),
        },
        None if older.created_at > quiet_since => RotationNote {
            finished: false,
            message: format!("Rotation in progress: the older secret {hint} has not been used yet."),
        },
        _ => RotationNote {
            finished: true,
            message: format!(
                "The older secret {hint} has not been used for a day: the rotation looks complete, and it is safe to revoke it."
            ),
        },
    })
}

/// One row of the Callers table.
struct CallerView {
    address: String,
    user_agent: String,
    hint: String,
    /// The caller last used the older of the two live secrets.
    on_older: bool,
    last_seen: TimeView,
}

/// While two secrets are live: every caller of the last day and the secret it last used.
fn callers_view(
    (callers, total): (Vec<crate::db::secrets::Caller>, i64),
    rows: &[(SecretRow, Option<String>)],
    now: NaiveDateTime,
) -> Option<CallersView> {
    let live: Vec<i32> = rows
        .iter()
        .filter(|(r, _)| SecretStatus::of(r.revoked_at, r.expires_at, now).is_live())
        .map(|(r, _)| r.id)
        .collect();
    if live.len() < 2 {
        return None;
    }
    let listed = callers.len() as i64;
    let older = live.iter().min().copied();
    let callers = callers
        .into_iter()
        .map(|c| CallerView {
            address: if c.ip.is_empty() {
                "unknown".into()
            } else {
                c.ip
            },
            user_agent: if c.user_agent.is_empty() {
                "(none)".into()
            } else {
                c.user_agent
            },
            hint: SecretHint::from_stored(c.hint).to_string(),
            on_older: Some(c.secret_id) == older,
            last_seen: TimeView::new(c.last_seen_at, now),
        })
        .collect();
    Some(CallersView {
        callers,
        more: total - listed,
    })
}

/// The Callers table, and how many callers it leaves out.
struct CallersView {
    callers: Vec<CallerView>,
    more: i64,
}

#[derive(Template)]
#[template(path = "app.html")]
struct AppPage {
    page: Page,
    app_id: i32,
    name: String,
    /// "Team <name>" (with its id, for the link) or "You".
    team: Option<(i32, String)>,
    /// The viewer's role, when the app is a team's.
    role: Option<&'static str>,
    /// Generate, Revoke, redirect URIs and webhooks are shown only to those who may change them.
    may_change: bool,
    /// The teams the app may be moved to; empty when it cannot be moved.
    move_to: Vec<OwnerChoice>,
    client_id: String,
    redirect_uris: Vec<String>,
    secrets: Vec<SecretView>,
    generate: GenerateForm,
    rotation: Option<RotationNote>,
    /// While two secrets are live.
    callers: Option<CallersView>,
    activity: Vec<ActivityView>,
    webhooks: WebhooksView,
    keys: KeysView,
}

pub async fn show(
    req: HttpRequest,
    session: TypedSession,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    // The session check and the page's reads in one trip (this is the busiest page). An id
    // that is not a number is answered only after the session check, like any missing app.
    let app_id = path.into_inner().parse::<i32>().ok();
    let pages = state.app_pages().clone();
    let now = state.clock().now();
    let loaded = load_signed_in(&state, &session, move |conn, user| {
        let app_id = app_id.ok_or(AppError::NotFound)?;
        let overview = apps::overview_in(conn, &pages, app_id, user.id, now)?;
        let (hooks, deliveries) = webhooks::list_in(conn, app_id)?;
        let keys = crate::db::client_keys::list_for_app(conn, app_id)
            .map_err(|e| anyhow::Error::new(e).context("listing an app's keys"))?;
        Ok((overview, policy::read_in(conn)?, hooks, deliveries, keys))
    })
    .await?;
    let Some((user, (overview, policy, hooks, deliveries, keys))) = loaded else {
        return Err(AppError::LoginRequired {
            next: return_path(&req),
        });
    };
    let apps::AppOverview {
        app,
        role,
        team_name,
        secrets: rows,
        activity: events,
        callers,
    } = overview;
    let may_change = apps::may_change(user.id, &app, role);
    let move_to = if apps::may_move(user.id, &app) {
        owner_choices(&state, user.id, false, "").await?
    } else {
        Vec::new()
    };
    let rotation = rotation_note(&rows, now);
    let callers = callers_view(callers, &rows, now);
    let secrets: Vec<SecretView> = rows
        .into_iter()
        .map(|(row, by)| SecretView::for_owner(row, by, now))
        .collect();
    let live_count = secrets.iter().filter(|s| s.live).count() as i64;
    let activity = events
        .into_iter()
        .map(|e| ActivityView {
            at: TimeView::new(e.at, now),
            actor: e.actor(),
            detail: e.detail,
            ip: e.ip.unwrap_or_default(),
        })
        .collect();
    html(
        StatusCode::OK,
        &AppPage {
            page: Page::new(&session)?,
            app_id: app.id,
            team: app.team_id.zip(team_name),
            role: role.map(TeamRole::label),
            may_change,
            move_to,
            redirect_uris: RedirectUris::from_stored(&app.redirect_uris)
                .as_slice()
                .to_vec(),
            name: app.name,
            client_id: app.client_id,
            secrets,
            generate: GenerateForm::new(live_count, &policy),
            webhooks: WebhooksView::new(hooks, deliveries, now),
            keys: KeysView::new(keys, now),
            rotation,
            callers,
            activity,
        },
    )
}

#[derive(Deserialize)]
pub struct MoveFields {
    #[serde(default)]
    team_id: String,
}

/// `POST /apps/{id}/move`: gives a personal app to one of the creator's teams.
pub async fn move_to_team(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<MoveFields>,
) -> Result<HttpResponse, AppError> {
    let app_id = path_id(&req, "id")?;
    let team_id = fields
        .team_id
        .trim()
        .parse::<i32>()
        .map_err(|_| AppError::BadRequest("Choose the team to move the app to.".into()))?;
    let actor = Actor::new(&user, client_ip(&req));
    let team =
        apps::move_to_team(state.pool(), actor, app_id, team_id, state.clock().now()).await?;
    session.set_flash(Flash::success(format!(
        "The app now belongs to the team {}: its Owners and Developers can manage it.",
        team.name
    )))?;
    Ok(see_other(&format!("/apps/{app_id}")))
}

#[derive(Template)]
#[template(path = "app_redirect_uris.html")]
struct RedirectUrisForm {
    page: Page,
    app_id: i32,
    name: String,
    redirect_uris: String,
    error: Option<String>,
}

/// `GET /apps/{id}/redirect-uris`: the form that edits them.
pub async fn redirect_uris_form(
    EditableApp { app, .. }: EditableApp,
    session: TypedSession,
) -> Result<HttpResponse, AppError> {
    html(
        StatusCode::OK,
        &RedirectUrisForm {
            page: Page::new(&session)?,
            app_id: app.id,
            redirect_uris: RedirectUris::from_stored(&app.redirect_uris)
                .as_slice()
                .join("\n"),
            name: app.name,
            error: None,
        },
    )
}

#[derive(Deserialize)]
pub struct RedirectUrisFields {
    #[serde(default)]
    redirect_uris: String,
}

/// `POST /apps/{id}/redirect-uris`.
pub async fn save_redirect_uris(
    req: HttpRequest,
    EditForm {
        owned: EditableApp { user, app },
        form: fields,
    }: EditForm<EditableApp, RedirectUrisFields>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    // Where authorization codes go: changing it is as sensitive as a secret.
    require_recent_authentication(&state, &user, format!("/apps/{}/redirect-uris", app.id))?;
    let uris = match RedirectUris::parse(&fields.redirect_uris) {
        Ok(uris) => uris,
        Err(error) => {
            let form = RedirectUrisForm {
                page: Page::new(&session)?,
                app_id: app.id,
                name: app.name,
                redirect_uris: fields.redirect_uris,
                error: Some(error),
            };
            return html(StatusCode::BAD_REQUEST, &form);
        }
    };
    let actor = Actor::new(&user, client_ip(&req));
    apps::set_redirect_uris(state.pool(), actor, app.id, uris, state.clock().now()).await?;
    session.set_flash(Flash::success("Redirect URIs saved."))?;
    Ok(see_other(&format!("/apps/{}", app.id)))
}
