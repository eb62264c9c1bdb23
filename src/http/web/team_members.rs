//! A team's members: invitations, roles, removal and leaving. Each handler parses the form
//! and asks the teams service, which decides who may do it; a refusal the page can explain
//! (the last Owner, a duplicate) shows the team page again with the reason.

use super::access::path_id;
use super::see_other;
use super::teams::{bad_input, error_only, refused, Refused};
use crate::domain::{Email, TeamRole};
use crate::http::client_ip;
use crate::http::csrf::NoFields;
use crate::http::error::AppError;
use crate::http::session::Flash;
use crate::http::{CsrfForm, CurrentUser, TypedSession};
use crate::service::audit::Actor;
use crate::service::teams::{self, Invited};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct InviteFields {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn invite(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<InviteFields>,
) -> Result<HttpResponse, AppError> {
    let team_id = path_id(&req, "id")?;
    let role = TeamRole::parse(fields.role.trim());
    let (email, role) = match (Email::parse(&fields.email), role) {
        (Ok(email), Some(role)) => (email, role),
        (email, role) => {
            let error = match email {
                Err(_) if fields.email.trim().is_empty() => {
                    "Enter the email address to invite.".to_owned()
                }
                Err(e) => e.to_owned(),
                Ok(_) => "Choose a role: Owner, Developer or Viewer.".to_owned(),
            };
            let refused = Refused {
                invite: Some((fields.email, role.unwrap_or(TeamRole::Developer), error)),
                ..Refused::default()
            };
            return bad_input(&state, &session, user.id, team_id, refused).await;
        }
    };
    let actor = Actor::new(&user, client_ip(&req));
    let address = email.as_str().to_owned();
    match teams::invite(
        state.pool(),
        actor,
        team_id,
        email,
        role,
        state.clock().now(),
    )
    .await
    {
        Ok(Invited::Joined) => {
            session.set_flash(Flash::success(format!(
                "{address} is now a member of the team, as {}.",
                role.label()
            )))?;
        }
        Ok(Invited::Pending { team_name }) => {
            state
                .notifier()
                .mail_invitation(address.clone(), &team_name, role.label());
            session.set_flash(Flash::success(format!(
                "Invitation recorded: {address} joins the team as {} when they sign up with this email.",
                role.label()
            )))?;
        }
        Err(e) => {
            return refused(&state, &session, user.id, team_id, e, |message| Refused {
                invite: Some((address, role, message)),
                ..Refused::default()
            })
            .await
        }
    }
    Ok(see_other(&format!("/teams/{team_id}")))
}

pub async fn cancel_invitation(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let team_id = path_id(&req, "id")?;
    let invitation_id = path_id(&req, "invitation_id")?;
    let actor = Actor::new(&user, client_ip(&req));
    teams::cancel_invitation(
        state.pool(),
        actor,
        team_id,
        invitation_id,
        state.clock().now(),
    )
    .await?;
    session.set_flash(Flash::success("Invitation cancelled."))?;
    Ok(see_other(&format!("/teams/{team_id}")))
}

#[derive(Deserialize)]
pub struct RoleFields {
    #[serde(default)]
    role: String,
}

pub async fn change_role(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<RoleFields>,
) -> Result<HttpResponse, AppError> {
    let team_id = path_id(&req, "id")?;
    let member_id = path_id(&req, "user_id")?;
    let Some(role) = TeamRole::parse(fields.role.trim()) else {
        let refused = Refused {
            error: Some("Choose a role: Owner, Developer or Viewer.".to_owned()),
            ..Refused::default()
        };
        return bad_input(&state, &session, user.id, team_id, refused).await;
    };
    let actor = Actor::new(&user, client_ip(&req));
    let now = state.clock().now();
    if let Err(e) = teams::change_role(state.pool(), actor, team_id, member_id, role, now).await {
        return refused(&state, &session, user.id, team_id, e, error_only).await;
    }
    session.set_flash(Flash::success("Role changed."))?;
    Ok(see_other(&format!("/teams/{team_id}")))
}

pub async fn remove_member(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let team_id = path_id(&req, "id")?;
    let member_id = path_id(&req, "user_id")?;
    let actor = Actor::new(&user, client_ip(&req));
    let now = state.clock().now();
    if let Err(e) = teams::remove_member(state.pool(), actor, team_id, member_id, now).await {
        return refused(&state, &session, user.id, team_id, e, error_only).await;
    }
    if member_id == user.id {
        // An Owner who removed themselves (another Owner remains) no longer sees the team.
        session.set_flash(Flash::success("You left the team."))?;
        return Ok(see_other("/teams"));
    }
    session.set_flash(Flash::success(
        "Member removed: from their next request on, they cannot see the team's apps.",
    ))?;
    Ok(see_other(&format!("/teams/{team_id}")))
}

pub async fn leave(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let team_id = path_id(&req, "id")?;
    let actor = Actor::new(&user, client_ip(&req));
    let now = state.clock().now();
    if let Err(e) = teams::leave(state.pool(), actor, team_id, now).await {
        return refused(&state, &session, user.id, team_id, e, error_only).await;
    }
    session.set_flash(Flash::success("You left the team."))?;
    Ok(see_other("/teams"))
}
