//! Registering apps, finding the apps a person may see, and changing who owns them. Every
//! lookup on behalf of a person goes through [`access::decide`].

use crate::db::{self, apps, apps::App, apps::AppSummary, teams, teams::Team, Conn, DbPool};
use crate::domain::access::{self, AppAction, AppOwnership, Decision, TeamAction};
use crate::domain::{AppName, ClientId, RedirectUris, TeamRole};
use crate::infra::cache::GenerationCache;
use crate::service::audit::{self, Actor};
use anyhow::Context;
use chrono::NaiveDateTime;

#[derive(Debug, thiserror::Error)]
pub enum AppsError {
    /// Another developer's app and a missing one look the same.
    #[error("App not found.")]
    NotFound,
    /// A member of the app's team whose role does not allow this.
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for AppsError {
    fn from(e: diesel::result::Error) -> Self {
        AppsError::Unexpected(e.into())
    }
}

/// Who a new app belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewAppOwner {
    JustMe,
    Team(i32),
}

/// The message for a Viewer who tries to change something.
const VIEWERS_CHANGE_NOTHING: &str =
    "Your role in this app's team is Viewer: you can see the app but not change it.";

pub async fn create_app(
    pool: &DbPool,
    actor: Actor,
    name: AppName,
    redirect_uris: RedirectUris,
    owner: NewAppOwner,
    now: chrono::NaiveDateTime,
) -> Result<App, AppsError> {
    let owner_id = actor
        .user_id
        .ok_or_else(|| anyhow::anyhow!("apps are created by people"))?;
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            // Checked in the transaction that creates the app: a member removed a moment ago
            // cannot add an app to the team.
            let team_id = match owner {
                NewAppOwner::JustMe => None,
                NewAppOwner::Team(team_id) => {
                    let role = teams::role_of(conn, team_id, owner_id)?;
                    match access::decide_for_team(role, TeamAction::AddApps) {
                        Decision::Allowed => Some(team_id),
                        Decision::Forbidden => {
                            return Err(AppsError::Forbidden(
                                "Only the team's Owners and Developers can create apps for it.",
                            ))
                        }
                        Decision::Hidden => return Err(AppsError::NotFound),
                    }
                }
            };
            let client_id = ClientId::generate();
            let new = apps::NewApp {
                owner_id,
                name: name.as_str(),
                client_id: client_id.as_str(),
                redirect_uris: &redirect_uris.to_stored(),
                created_at: now,
                team_id,
            };
            let app = apps::insert(conn, &new)?;
            let detail = format!("Created the app \"{}\"", app.name);
            audit::record(
                conn,
                &actor,
                "app.created",
                Some(app.id),
                None,
                &detail,
                now,
            )?;
            Ok(app)
        })
    })
    .await
}

/// The app with this id, if `user_id` may do `action` to it: somebody who may not even see it
/// gets [`AppsError::NotFound`], the same as for a missing app.
pub async fn app_for(
    pool: &DbPool,
    id: i32,
    user_id: i32,
    action: AppAction,
) -> Result<(App, Option<TeamRole>), AppsError> {
    db::run(pool, move |conn| app_for_in(conn, id, user_id, action)).await
}

/// [`app_for`] by client id (the API names apps by it); a missing app and one the user may not
/// see are the same [`AppsError::NotFound`].
pub async fn app_by_client_id(
    pool: &DbPool,
    client_id: String,
    user_id: i32,
    action: AppAction,
) -> Result<(App, Option<TeamRole>), AppsError> {
    if !ClientId::may_be(&client_id) {
        return Err(AppsError::NotFound);
    }
    db::run(pool, move |conn| {
        let app = apps::find_by_client_id(conn, &client_id)
            .context("loading an app by client id")?
            .ok_or(AppsError::NotFound)?;
        app_for_in(conn, app.id, user_id, action)
    })
    .await
}

/// An app's secrets, newest first, revoked ones included.
pub async fn secrets_of(pool: &DbPool, app_id: i32) -> anyhow::Result<Vec<db::secrets::SecretRow>> {
    db::run(pool, move |conn| {
        let rows = db::secrets::list_for_app(conn, app_id).context("listing an app's secrets")?;
        Ok(rows.into_iter().map(|(row, _)| row).collect())
    })
    .await
}

/// [`app_for`] on a connection the caller holds.
pub fn app_for_in(
    conn: &mut Conn,
    id: i32,
    user_id: i32,
    action: AppAction,
) -> Result<(App, Option<TeamRole>), AppsError> {
    let (app, role) = apps::find_with_role(conn, id, user_id)
        .context("loading an app")?
        .ok_or(AppsError::NotFound)?;
    match access::decide(user_id, ownership(&app), role, action) {
        Decision::Allowed => Ok((app, role)),
        Decision::Forbidden if action == AppAction::MoveToTeam => Err(AppsError::Forbidden(
            "Only a personal app can be moved to a team, by the person who created it.",
        )),
        Decision::Forbidden => Err(AppsError::Forbidden(VIEWERS_CHANGE_NOTHING)),
        Decision::Hidden => Err(AppsError::NotFound),
    }
}

/// Checks again, in the write transaction of a change, that the actor may still change the
/// app: a member removed or made a Viewer while their request waited (for bcrypt, for a URL
/// check) changes nothing, nor does an API token revoked meanwhile. Admins act on any app from
/// the admin review, and OAuth clients on their own tokens: neither is decided by a team role.
pub fn may_still_change_in(conn: &mut Conn, app_id: i32, actor: &Actor) -> Result<(), AppsError> {
    if let Some(token) = &actor.api_token {
        let live = db::api_tokens::find(conn, token.id)?.is_some_and(|t| t.revoked_at.is_none());
        if !live {
            return Err(AppsError::Forbidden("This API token has been revoked."));
        }
    }
    match actor.user_id {
        Some(user_id) if !actor.is_admin => {
            app_for_in(conn, app_id, user_id, AppAction::Change).map(drop)
        }
        _ => Ok(()),
    }
}

/// Whether the page shows the user the controls that change the app.
pub fn may_change(user_id: i32, app: &App, role: Option<TeamRole>) -> bool {
    access::decide(user_id, ownership(app), role, AppAction::Change) == Decision::Allowed
}

/// Whether the page offers the user to move the app to a team.
pub fn may_move(user_id: i32, app: &App) -> bool {
    access::decide(user_id, ownership(app), None, AppAction::MoveToTeam) == Decision::Allowed
}

pub fn ownership(app: &App) -> AppOwnership {
    AppOwnership {
        creator_id: app.owner_id,
        team_id: app.team_id,
    }
}

/// The app whose client id this is, if any (client ids are public).
pub async fn find_client(pool: &DbPool, client_id: String) -> anyhow::Result<Option<App>> {
    db::run(pool, move |conn| {
        apps::find_by_client_id(conn, &client_id).context("loading a client")
    })
    .await
}

/// "My Apps": the personal apps, then one group per team the user belongs to.
pub struct MyApps {
    pub personal: Vec<AppSummary>,
    pub teams: Vec<(Team, TeamRole, Vec<AppSummary>)>,
}

impl MyApps {
    /// Every app in the order the page shows them.
    pub fn all(&self) -> impl Iterator<Item = &AppSummary> {
        self.personal
            .iter()
            .chain(self.teams.iter().flat_map(|(_, _, apps)| apps))
    }
}

pub async fn my_apps(pool: &DbPool, user_id: i32) -> Result<MyApps, AppsError> {
    db::run(pool, move |conn| {
        db::read_transaction(conn, |conn| {
            let memberships = teams::teams_of(conn, user_id)?;
            let team_ids: Vec<i32> = memberships.iter().map(|(t, _)| t.id).collect();
            let mut listed = apps::list_with_summary(conn, user_id, &team_ids)?;
            // What the query found, checked by the one policy.
            listed.retain(|s| {
                let role = s.app.team_id.and_then(|team_id| {
                    memberships
                        .iter()
                        .find(|(t, _)| t.id == team_id)
                        .map(|(_, r)| *r)
                });
                access::decide(user_id, ownership(&s.app), role, AppAction::View)
                    == Decision::Allowed
            });
            let (personal, of_teams): (Vec<_>, Vec<_>) =
                listed.into_iter().partition(|s| s.app.team_id.is_none());
            let teams = memberships
                .into_iter()
                .map(|(team, role)| {
                    let apps = of_teams
                        .iter()
                        .filter(|s| s.app.team_id == Some(team.id))
                        .cloned()
                        .collect();
                    (team, role, apps)
                })
                .collect();
            Ok::<_, diesel::result::Error>(MyApps { personal, teams })
        })
        .context("listing apps")
        .map_err(AppsError::from)
    })
    .await
}

/// Gives a personal app to a team where its creator is an Owner or a Developer. From then on
/// the team's roles decide who may see and change it.
pub async fn move_to_team(
    pool: &DbPool,
    actor: Actor,
    app_id: i32,
    team_id: i32,
    now: NaiveDateTime,
) -> Result<Team, AppsError> {
    let user_id = actor
        .user_id
        .ok_or_else(|| anyhow::anyhow!("apps are moved by people"))?;
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let (app, _) = app_for_in(conn, app_id, user_id, AppAction::MoveToTeam)?;
            let role = teams::role_of(conn, team_id, user_id).context("loading a role")?;
            let team =
                match access::decide_for_team(role, TeamAction::AddApps) {
                    Decision::Allowed => teams::find(conn, team_id)
                        .context("loading a team")?
                        .ok_or(AppsError::NotFound)?,
                    _ => return Err(AppsError::Forbidden(
                        "You can move an app only to a team where you are an Owner or a Developer.",
                    )),
                };
            apps::set_team(conn, app.id, team.id).context("moving an app")?;
            let detail = format!(
                "Moved the app \"{}\" to the team \"{}\"",
                app.name, team.name
            );
            audit::record_for_team(
                conn,
                &actor,
                "app.moved_to_team",
                team.id,
                Some(app.id),
                &detail,
                now,
            )
            .context("recording a move")?;
            Ok(team)
        })
    })
    .await
}

/// Replaces the app's redirect URIs.
pub async fn set_redirect_uris(
    pool: &DbPool,
    actor: Actor,
    app_id: i32,
    uris: RedirectUris,
    now: NaiveDateTime,
) -> Result<(), AppsError> {
    let user_id = actor
        .user_id
        .ok_or_else(|| anyhow::anyhow!("apps are changed by people"))?;
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let (app, _) = app_for_in(conn, app_id, user_id, AppAction::Change)?;
            apps::set_redirect_uris(conn, app.id, &uris.to_stored())
                .context("saving redirect URIs")?;
            let detail = match uris.as_slice() {
                [] => "Removed every redirect URI".to_owned(),
                list => format!("Set the redirect URIs to {}", list.join(", ")),
            };
            audit::record(
                conn,
                &actor,
                "app.redirect_uris_changed",
                Some(app.id),
                None,
                &detail,
                now,
            )
            .context("recording a change")?;
            Ok(())
        })
    })
    .await
}

/// Everything the app page shows, in one trip to the database.
#[derive(Clone)]
pub struct AppOverview {
    pub app: App,
    /// The viewer's role in the app's team, if it is a team's.
    pub role: Option<TeamRole>,
    /// The name of the team that owns the app.
    pub team_name: Option<String>,
    /// Newest first, with the email of whoever generated each.
    pub secrets: Vec<(db::secrets::SecretRow, Option<String>)>,
    /// The latest audit events, newest first.
    pub activity: Vec<db::audit::AuditEvent>,
    /// Who called with the app's secrets in the last 24 hours, the older secrets' first (at
    /// most [`CALLERS_LISTED`]), and how many there were in all.
    pub callers: (Vec<db::secrets::Caller>, i64),
}

/// How long a caller stays on the app page after its last call.
pub const CALLERS_SHOWN: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// How many callers the app page lists.
pub const CALLERS_LISTED: i64 = 50;

/// App pages kept by (app id, viewer id), reused while nothing they show has changed (a change
/// of membership or role moves the generation too).
pub type AppPages = GenerationCache<(i32, i32), AppOverview>;

/// Reads what the app page shows, on a connection the caller holds (the page loads it in the
/// same trip as the session check), or reuses what it read before if nothing has changed since.
pub fn overview_in(
    conn: &mut Conn,
    pages: &AppPages,
    id: i32,
    user_id: i32,
    now: NaiveDateTime,
) -> Result<AppOverview, AppsError> {
    let second = now.and_utc().timestamp();
    let current = db::admin::review_generation(conn).context("loading an app's overview")?;
    if let Some(hit) = pages.get(&(id, user_id), current, second) {
        return Ok(hit);
    }
    // One read transaction: a consistent picture, and the generation it is kept under belongs
    // to the rows read.
    db::read_transaction(conn, |conn| {
        let generation = db::admin::review_generation(conn)?;
        let (app, role) = app_for_in(conn, id, user_id, AppAction::View)?;
        let team_name = match app.team_id {
            Some(team_id) => teams::find(conn, team_id)?.map(|t| t.name),
            None => None,
        };
        let secrets = db::secrets::list_for_app(conn, app.id)?;
        let activity = db::audit::recent_for_app(conn, app.id, 20)?;
        let since = now - CALLERS_SHOWN;
        let callers = (
            db::secrets::callers_since(conn, app.id, since, CALLERS_LISTED)?,
            db::secrets::count_callers_since(conn, app.id, since)?,
        );
        let overview = AppOverview {
            app,
            role,
            team_name,
            secrets,
            activity,
            callers,
        };
        pages.put((id, user_id), generation, second, overview.clone());
        Ok(overview)
    })
}
