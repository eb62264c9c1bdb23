//! Teams: the list, creating one, the team page (members, invitations, apps, Activity),
//! renaming and deleting. Members and invitations are changed in `team_members`. Who may do
//! what is decided by the teams service; these handlers parse the forms and show the outcome.

use super::access::path_id;
use super::account_links::VERIFY_EMAIL_FIRST;
use super::{html, see_other, Page, TimeView};
use crate::domain::{TeamName, TeamRole};
use crate::http::client_ip;
use crate::http::csrf::NoFields;
use crate::http::error::AppError;
use crate::http::session::Flash;
use crate::http::{CsrfForm, CurrentUser, TypedSession};
use crate::service::audit::Actor;
use crate::service::teams::{self, TeamsError};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

impl From<TeamsError> for AppError {
    fn from(e: TeamsError) -> Self {
        match e {
            TeamsError::NotFound => AppError::NotFound,
            TeamsError::OwnersOnly => AppError::Forbidden("Only the team's Owners can do that."),
            TeamsError::Unexpected(cause) => AppError::Unexpected(cause),
            conflict => AppError::Conflict(conflict.to_string()),
        }
    }
}

struct TeamRow {
    id: i32,
    name: String,
    role: &'static str,
}

#[derive(Template)]
#[template(path = "teams.html")]
struct TeamsPage {
    page: Page,
    teams: Vec<TeamRow>,
}

pub async fn list(
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let teams = teams::my_teams(state.pool(), user.id)
        .await?
        .into_iter()
        .map(|(team, role)| TeamRow {
            id: team.id,
            name: team.name,
            role: role.label(),
        })
        .collect();
    html(
        StatusCode::OK,
        &TeamsPage {
            page: Page::new(&session)?,
            teams,
        },
    )
}

#[derive(Template)]
#[template(path = "team_new.html")]
struct NewTeamForm {
    page: Page,
    name: String,
    error: Option<String>,
}

pub async fn new_form(_: CurrentUser, session: TypedSession) -> Result<HttpResponse, AppError> {
    html(
        StatusCode::OK,
        &NewTeamForm {
            page: Page::new(&session)?,
            name: String::new(),
            error: None,
        },
    )
}

#[derive(Deserialize)]
pub struct NameFields {
    #[serde(default)]
    name: String,
}

pub async fn create(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<NameFields>,
) -> Result<HttpResponse, AppError> {
    if !user.email_verified {
        return Err(AppError::Forbidden(VERIFY_EMAIL_FIRST));
    }
    let name = match TeamName::parse(&fields.name) {
        Ok(name) => name,
        Err(error) => {
            let form = NewTeamForm {
                page: Page::new(&session)?,
                name: fields.name,
                error: Some(error.to_owned()),
            };
            return html(StatusCode::BAD_REQUEST, &form);
        }
    };
    let actor = Actor::new(&user, client_ip(&req));
    let team = teams::create_team(state.pool(), actor, name, state.clock().now()).await?;
    session.set_flash(Flash::success(
        "Team created. Invite members, then create apps for it or move yours to it.",
    ))?;
    Ok(see_other(&format!("/teams/{}", team.id)))
}

struct MemberView {
    user_id: i32,
    email: String,
    role: TeamRole,
    joined: TimeView,
    is_me: bool,
    /// The only Owner: cannot leave, be removed or be demoted.
    last_owner: bool,
}

struct InvitationView {
    id: i32,
    email: String,
    role: &'static str,
    invited: TimeView,
}

struct TeamAppView {
    id: i32,
    name: String,
    client_id: String,
}

struct ActivityView {
    at: TimeView,
    actor: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    page: Page,
    team_id: i32,
    name: String,
    my_role: TeamRole,
    is_owner: bool,
    may_add_apps: bool,
    roles: [TeamRole; 3],
    members: Vec<MemberView>,
    invitations: Vec<InvitationView>,
    apps: Vec<TeamAppView>,
    activity: Vec<ActivityView>,
    /// Why the last change was refused, shown at the top of the page.
    error: Option<String>,
    /// The Invite member form as typed, with its error.
    invite_email: String,
    invite_role: TeamRole,
    invite_error: Option<String>,
    /// The rename form as typed, with its error.
    rename: String,
    rename_error: Option<String>,
}

/// What to show in the forms after a refused change.
#[derive(Default)]
pub(super) struct Refused {
    pub(super) error: Option<String>,
    /// The refused form is one only Owners may use (set by [`bad_input`]).
    pub(super) owners_form: bool,
    pub(super) invite: Option<(String, TeamRole, String)>,
    pub(super) rename: Option<(String, String)>,
}

pub(super) async fn render(
    state: &AppState,
    session: &TypedSession,
    user_id: i32,
    team_id: i32,
    status: StatusCode,
    refused: Refused,
) -> Result<HttpResponse, AppError> {
    let overview = teams::overview(state.pool(), team_id, user_id).await?;
    // The invite, rename and role forms are the Owners': anybody else gets the 403 their POST
    // gets with valid input, not the form back.
    if refused.owners_form && !teams::may_manage(overview.my_role) {
        return Err(TeamsError::OwnersOnly.into());
    }
    let now = state.clock().now();
    let owners = overview
        .members
        .iter()
        .filter(|m| m.role == TeamRole::Owner)
        .count();
    let (invite_email, invite_role, invite_error) = match refused.invite {
        Some((email, role, error)) => (email, role, Some(error)),
        None => (String::new(), TeamRole::Developer, None),
    };
    let (rename, rename_error) = match refused.rename {
        Some((name, error)) => (name, Some(error)),
        None => (overview.team.name.clone(), None),
    };
    let page = TeamPage {
        page: Page::new(session)?,
        team_id: overview.team.id,
        name: overview.team.name,
        my_role: overview.my_role,
        is_owner: teams::may_manage(overview.my_role),
        may_add_apps: teams::may_add_apps(overview.my_role),
        roles: TeamRole::ALL,
        members: overview
            .members
            .into_iter()
            .map(|m| MemberView {
                last_owner: m.role == TeamRole::Owner && owners <= 1,
                is_me: m.user_id == user_id,
                user_id: m.user_id,
                email: m.email,
                role: m.role,
                joined: TimeView::new(m.joined_at, now),
            })
            .collect(),
        invitations: overview
            .invitations
            .into_iter()
            .map(|i| InvitationView {
                id: i.id,
                role: i.role.label(),
                email: i.email,
                invited: TimeView::new(i.created_at, now),
            })
            .collect(),
        apps: overview
            .apps
            .into_iter()
            .map(|a| TeamAppView {
                id: a.id,
                name: a.name,
                client_id: a.client_id,
            })
            .collect(),
        activity: overview
            .activity
            .into_iter()
            .map(|e| ActivityView {
                at: TimeView::new(e.at, now),
                actor: e.actor(),
                detail: e.detail,
            })
            .collect(),
        error: refused.error,
        invite_email,
        invite_role,
        invite_error,
        rename,
        rename_error,
    };
    html(status, &page)
}

pub async fn show(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let team_id = path_id(&req, "id")?;
    render(
        &state,
        &session,
        user.id,
        team_id,
        StatusCode::OK,
        Refused::default(),
    )
    .await
}

/// Input an Owners' form cannot use: the team page again with the form and its error (400).
/// Anybody but an Owner gets the 403 that the same form with valid input gets.
pub(super) async fn bad_input(
    state: &AppState,
    session: &TypedSession,
    user_id: i32,
    team_id: i32,
    refused: Refused,
) -> Result<HttpResponse, AppError> {
    let refused = Refused {
        owners_form: true,
        ..refused
    };
    render(
        state,
        session,
        user_id,
        team_id,
        StatusCode::BAD_REQUEST,
        refused,
    )
    .await
}

/// A refusal shown at the top of the team page.
pub(super) fn error_only(message: String) -> Refused {
    Refused {
        error: Some(message),
        ..Refused::default()
    }
}

/// A change refused for a reason the page explains (the last Owner, a duplicate invitation):
/// the team page again, with the reason, and the status that says why.
pub(super) async fn refused(
    state: &AppState,
    session: &TypedSession,
    user_id: i32,
    team_id: i32,
    error: TeamsError,
    place: impl FnOnce(String) -> Refused,
) -> Result<HttpResponse, AppError> {
    let status = match error {
        TeamsError::DailyInvitationLimit => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::CONFLICT,
    };
    match AppError::from(error) {
        AppError::Conflict(message) => {
            render(state, session, user_id, team_id, status, place(message)).await
        }
        other => Err(other),
    }
}

pub async fn rename(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<NameFields>,
) -> Result<HttpResponse, AppError> {
    let team_id = path_id(&req, "id")?;
    let name = match TeamName::parse(&fields.name) {
        Ok(name) => name,
        Err(error) => {
            let refused = Refused {
                rename: Some((fields.name, error.to_owned())),
                ..Refused::default()
            };
            return bad_input(&state, &session, user.id, team_id, refused).await;
        }
    };
    let actor = Actor::new(&user, client_ip(&req));
    teams::rename(state.pool(), actor, team_id, name, state.clock().now()).await?;
    session.set_flash(Flash::success("Team renamed."))?;
    Ok(see_other(&format!("/teams/{team_id}")))
}

#[derive(Template)]
#[template(path = "team_delete.html")]
struct ConfirmDelete {
    page: Page,
    team_id: i32,
    name: String,
    app_count: i64,
}

pub async fn confirm_delete(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let team_id = path_id(&req, "id")?;
    let (team, app_count) = teams::deletion(state.pool(), team_id, user.id).await?;
    html(
        StatusCode::OK,
        &ConfirmDelete {
            page: Page::new(&session)?,
            team_id,
            name: team.name,
            app_count,
        },
    )
}

pub async fn delete(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let team_id = path_id(&req, "id")?;
    let actor = Actor::new(&user, client_ip(&req));
    match teams::delete(state.pool(), actor, team_id, state.clock().now()).await {
        Ok(name) => {
            session.set_flash(Flash::success(format!("The team {name} was deleted.")))?;
            Ok(see_other("/teams"))
        }
        Err(e) => refused(&state, &session, user.id, team_id, e, error_only).await,
    }
}
