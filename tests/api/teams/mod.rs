//! Teams: who may do what to which app (roles), membership changes that take effect on the
//! next request, the last Owner and invitations (membership), Move to team, My Apps, the admin
//! review and mail (apps). This file holds what they share.

mod apps;
mod membership;
mod roles;

use crate::helpers::{csrf_token, location, Browser, TestApp};
use reqwest::StatusCode;

/// Creates a team and returns its id.
pub async fn create_team(browser: &Browser, name: &str) -> String {
    let response = browser
        .submit("/teams/new", "/teams", &[("name", name)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    location(&response)
        .strip_prefix("/teams/")
        .expect("redirects to the team page")
        .to_owned()
}

pub async fn invite(browser: &Browser, team: &str, email: &str, role: &str) -> reqwest::Response {
    browser
        .submit(
            &format!("/teams/{team}"),
            &format!("/teams/{team}/invitations"),
            &[("email", email), ("role", role)],
        )
        .await
}

/// The user id of a member, from the team page.
pub fn member_id(team_page: &str, email: &str) -> String {
    let marker = format!("data-member=\"{email}\" data-user-id=\"");
    let start = team_page.find(&marker).expect("the member is listed") + marker.len();
    team_page[start..].split('"').next().unwrap().to_owned()
}

/// Everything inside the element with this id (which holds no element of its own kind).
pub fn inner(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let open = html[..at].rfind('<').unwrap();
    let tag: String = html[open + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let body = at + html[at..].find('>').unwrap() + 1;
    let close = body + html[body..].find(&format!("</{tag}>")).unwrap();
    html[body..close].to_owned()
}

/// A CSRF token of the browser's session, from a page every signed-in user may see.
pub async fn token(browser: &Browser) -> String {
    csrf_token(&browser.get_html("/apps").await)
}

/// A team with an Owner, a Developer and a Viewer, and somebody outside it.
pub struct Crew {
    pub team: String,
    pub owner: Browser,
    pub developer: Browser,
    pub viewer: Browser,
    pub outsider: Browser,
    pub owner_email: String,
    pub developer_email: String,
    pub viewer_email: String,
}

pub async fn crew(app: &TestApp) -> Crew {
    let owner = app.new_browser();
    let owner_email = owner.signed_up().await;
    let team = create_team(&owner, "Payments").await;
    let developer = app.new_browser();
    let developer_email = developer.signed_up().await;
    let viewer = app.new_browser();
    let viewer_email = viewer.signed_up().await;
    let outsider = app.new_browser();
    outsider.signed_up().await;
    for (email, role) in [(&developer_email, "developer"), (&viewer_email, "viewer")] {
        let response = invite(&owner, &team, email, role).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    Crew {
        team,
        owner,
        developer,
        viewer,
        outsider,
        owner_email,
        developer_email,
        viewer_email,
    }
}

/// Creates an app owned by the team, through the New app form's Owner field.
pub async fn create_team_app(browser: &Browser, team: &str, name: &str) -> String {
    let response = browser
        .submit(
            "/apps/new",
            "/apps",
            &[("name", name), ("redirect_uris", ""), ("owner", team)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    location(&response)
        .strip_prefix("/apps/")
        .unwrap()
        .to_owned()
}
