//! Teams: who may do what to which app, membership changes that take effect on the next
//! request, the last Owner, invitations, Move to team and My Apps.

use crate::helpers::{
    csrf_token, element_text, location, secret_row, spawn_app, spawn_app_with, Browser, TestApp,
    PASSWORD,
};
use crate::notifications::{eventually, MailServer};
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
fn inner(html: &str, id: &str) -> String {
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
async fn token(browser: &Browser) -> String {
    csrf_token(&browser.get_html("/apps").await)
}

/// A team with an Owner, a Developer and a Viewer, and somebody outside it.
struct Crew {
    team: String,
    owner: Browser,
    developer: Browser,
    viewer: Browser,
    outsider: Browser,
    owner_email: String,
    developer_email: String,
    viewer_email: String,
}

async fn crew(app: &TestApp) -> Crew {
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

#[derive(Debug, Clone, Copy)]
enum Action {
    ViewApp,
    ViewSecret,
    ConfirmGenerate,
    Generate,
    Label,
    ConfirmRevoke,
    EditRedirectUris,
    NewWebhookForm,
    Revoke,
    MoveToTeam,
}

const ACTIONS: [Action; 10] = [
    Action::ViewApp,
    Action::ViewSecret,
    Action::ConfirmGenerate,
    Action::Generate,
    Action::Label,
    Action::ConfirmRevoke,
    Action::EditRedirectUris,
    Action::NewWebhookForm,
    Action::Revoke,
    Action::MoveToTeam,
];

/// Does `action` as `who` would, forcing the request even where the page offers no control;
/// returns the status, and the plaintext of a secret it generated.
async fn perform(
    who: &Browser,
    action: Action,
    app: &str,
    secret_path: &str,
    team: &str,
    generated: &mut Option<(String, String)>,
) -> StatusCode {
    let csrf = token(who).await;
    let post = |path: String, fields: Vec<(&'static str, String)>| {
        let mut fields = fields;
        fields.push(("csrf_token", csrf.clone()));
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            who.post(&path, &fields).await.status()
        }
    };
    match action {
        Action::ViewApp => who.get(&format!("/apps/{app}")).await.status(),
        Action::ViewSecret => who.get(secret_path).await.status(),
        Action::ConfirmGenerate => who.get(&format!("/apps/{app}/secrets/new")).await.status(),
        Action::Generate => {
            let response = who
                .post(
                    &format!("/apps/{app}/secrets"),
                    &[("csrf_token", &csrf), ("label", "by-role")],
                )
                .await;
            let status = response.status();
            if status == StatusCode::OK {
                let secret = element_text(&response.text().await.unwrap(), "new-secret");
                let page = who.get_html(&format!("/apps/{app}")).await;
                let path = crate::helpers::revoke_path(&page, &secret);
                *generated = Some((secret, path));
            }
            status
        }
        Action::Label => {
            post(
                format!("{secret_path}/label"),
                vec![("label", "relabelled".to_owned())],
            )
            .await
        }
        Action::ConfirmRevoke => who.get(&format!("{secret_path}/revoke")).await.status(),
        Action::EditRedirectUris => {
            post(
                format!("/apps/{app}/redirect-uris"),
                vec![("redirect_uris", "https://changed.example/cb".to_owned())],
            )
            .await
        }
        Action::NewWebhookForm => who.get(&format!("/apps/{app}/webhooks/new")).await.status(),
        Action::Revoke => {
            // The secret this member generated, or else the app's only one.
            let (path, hint) = match generated.take() {
                Some((secret, path)) => (path, secret[secret.len() - 4..].to_owned()),
                None => (format!("{secret_path}/revoke"), String::new()),
            };
            post(path, vec![("confirm_hint", hint)]).await
        }
        Action::MoveToTeam => {
            post(
                format!("/apps/{app}/move"),
                vec![("team_id", team.to_owned())],
            )
            .await
        }
    }
}

/// What the owner sees of the app that a change would move: its redirect URIs, its active
/// secrets and its Activity.
async fn state_of(owner: &Browser, app: &str) -> (bool, usize, usize) {
    let page = owner.get_html(&format!("/apps/{app}")).await;
    let activity = page
        .split("id=\"activity-heading\"")
        .nth(1)
        .unwrap()
        .matches("<li>")
        .count();
    (
        page.contains("https://changed.example/cb"),
        page.matches("status status-active").count(),
        activity,
    )
}

#[tokio::test]
async fn each_role_may_do_exactly_what_it_allows_to_each_kind_of_app() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let team_app = create_team_app(&c.owner, &c.team, "Checkout").await;
    let personal_app = c.owner.create_app("Owner's own").await;
    let mut secret_paths = Vec::new();
    for id in [&team_app, &personal_app] {
        let secret = c.owner.generate_secret(id).await;
        let revoke = c.owner.revoke_path(id, &secret).await;
        secret_paths.push(revoke.strip_suffix("/revoke").unwrap().to_owned());
    }

    use StatusCode as S;
    const ALLOWED: [S; 10] = [
        S::OK,
        S::OK,
        S::OK,
        S::OK,
        S::SEE_OTHER,
        S::OK,
        S::SEE_OTHER,
        S::OK,
        S::SEE_OTHER,
        S::FORBIDDEN, // a team's app is not moved again
    ];
    const READ_ONLY: [S; 10] = [
        S::OK,
        S::OK,
        S::FORBIDDEN,
        S::FORBIDDEN,
        S::FORBIDDEN,
        S::FORBIDDEN,
        S::FORBIDDEN,
        S::FORBIDDEN,
        S::FORBIDDEN,
        S::FORBIDDEN,
    ];
    const HIDDEN: [S; 10] = [S::NOT_FOUND; 10];
    let table: [(&str, &Browser, usize, [S; 10]); 7] = [
        ("team Owner, team app", &c.owner, 0, ALLOWED),
        ("Developer, team app", &c.developer, 0, ALLOWED),
        ("Viewer, team app", &c.viewer, 0, READ_ONLY),
        ("outsider, team app", &c.outsider, 0, HIDDEN),
        // A role in a team gives nothing over a member's personal apps.
        ("Developer, Owner's personal app", &c.developer, 1, HIDDEN),
        ("Viewer, Owner's personal app", &c.viewer, 1, HIDDEN),
        ("outsider, Owner's personal app", &c.outsider, 1, HIDDEN),
    ];
    let apps = [&team_app, &personal_app];
    for (who_and_what, browser, which, expected) in table {
        let app_id = apps[which];
        let before = state_of(&c.owner, app_id).await;
        let mut generated = None;
        for (action, want) in ACTIONS.into_iter().zip(expected) {
            let got = perform(
                browser,
                action,
                app_id,
                &secret_paths[which],
                &c.team,
                &mut generated,
            )
            .await;
            assert_eq!(got, want, "{who_and_what}: {action:?}");
        }
        let after = state_of(&c.owner, app_id).await;
        if expected == ALLOWED {
            assert!(after.0, "{who_and_what}: the redirect URIs changed");
            assert_eq!(after.1, 1, "{who_and_what}: generated, then revoked");
        } else {
            assert_eq!(after, before, "{who_and_what}: nothing changed");
        }
    }
    // The creator of a personal app may do all of it (moving it is tested on its own).
    let mut generated = None;
    for (action, want) in ACTIONS.into_iter().zip(ALLOWED).take(9) {
        let got = perform(
            &c.owner,
            action,
            &personal_app,
            &secret_paths[1],
            &c.team,
            &mut generated,
        )
        .await;
        assert_eq!(got, want, "creator, personal app: {action:?}");
    }

    // What each member is shown: a Viewer sees the secrets, Last Used and Activity, and no
    // control that changes anything.
    let seen_by_viewer = c.viewer.get_html(&format!("/apps/{team_app}")).await;
    assert!(seen_by_viewer.contains("OAuth secrets"));
    assert!(seen_by_viewer.contains("Last Used"));
    assert!(seen_by_viewer.contains("id=\"activity-heading\""));
    assert!(inner(&seen_by_viewer, "app-owner").contains("Payments"));
    for control in [
        "Generate new secret",
        ">Revoke<",
        "Edit redirect URIs",
        "Add webhook",
    ] {
        assert!(!seen_by_viewer.contains(control), "{control}");
    }
    let seen_by_developer = c.developer.get_html(&format!("/apps/{team_app}")).await;
    assert!(seen_by_developer.contains("Generate new secret"));
    assert!(seen_by_developer.contains(">Revoke<"));
    let secret_seen_by_viewer = c.viewer.get_html(&secret_paths[0]).await;
    assert!(!secret_seen_by_viewer.contains("Save label"));
    assert!(!secret_seen_by_viewer.contains("Revoke…"));

    // Team pages: members see them, only Owners manage; outsiders get the 404 of a missing team.
    assert_eq!(
        c.outsider.get(&format!("/teams/{}", c.team)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.outsider.get("/teams/999999").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.outsider.get("/teams/abc").await.status(),
        StatusCode::NOT_FOUND
    );
    let team_page = c.viewer.get_html(&format!("/teams/{}", c.team)).await;
    assert!(team_page.contains("Checkout"));
    assert!(!team_page.contains("Invite member"));
    for (who, want) in [
        (&c.developer, StatusCode::FORBIDDEN),
        (&c.viewer, StatusCode::FORBIDDEN),
        (&c.outsider, StatusCode::NOT_FOUND),
    ] {
        let csrf = token(who).await;
        let response = who
            .post(
                &format!("/teams/{}/invitations", c.team),
                &[
                    ("csrf_token", &csrf),
                    ("email", "x@example.com"),
                    ("role", "owner"),
                ],
            )
            .await;
        assert_eq!(response.status(), want);
        let response = who
            .post(
                &format!("/teams/{}/rename", c.team),
                &[("csrf_token", &csrf), ("name", "Mine now")],
            )
            .await;
        assert_eq!(response.status(), want);
    }
    let team_page = c.owner.get_html(&format!("/teams/{}", c.team)).await;
    assert!(!team_page.contains("x@example.com"));
    assert!(!team_page.contains("Mine now"));

    // A Viewer cannot create an app for the team by forcing the form either.
    let csrf = token(&c.viewer).await;
    let response = c
        .viewer
        .post(
            "/apps",
            &[
                ("csrf_token", &csrf),
                ("name", "Sneaky"),
                ("owner", &c.team),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Owner or a Developer"));
    let form = c.viewer.get_html("/apps/new").await;
    assert!(form.contains("Just me"));
    assert!(!form.contains("Payments"), "a Viewer's team is not offered");
    let form = c.developer.get_html("/apps/new").await;
    assert!(form.contains("Payments"));
}

#[tokio::test]
async fn a_removed_member_loses_access_on_the_very_next_request() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let team_app = create_team_app(&c.owner, &c.team, "Ledger").await;
    let secret = c.owner.generate_secret(&team_app).await;
    // The Developer has the page open (and cached by the server), with a form's token.
    let page = c.developer.get_html(&format!("/apps/{team_app}")).await;
    assert!(page.contains("Generate new secret"));
    let csrf = csrf_token(&page);

    let team_page = c.owner.get_html(&format!("/teams/{}", c.team)).await;
    let developer = member_id(&team_page, &c.developer_email);
    let response = c
        .owner
        .submit(
            &format!("/teams/{}", c.team),
            &format!("/teams/{}/members/{developer}/remove", c.team),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    assert_eq!(
        c.developer.get(&format!("/apps/{team_app}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let forced = c
        .developer
        .post(
            &format!("/apps/{team_app}/secrets"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(forced.status(), StatusCode::NOT_FOUND);
    let revoke = c.owner.revoke_path(&team_app, &secret).await;
    let forced = c
        .developer
        .post(&revoke, &[("csrf_token", &csrf), ("confirm_hint", "")])
        .await;
    assert_eq!(forced.status(), StatusCode::NOT_FOUND);
    assert!(!c.developer.get_html("/apps").await.contains("Ledger"));
    assert_eq!(
        c.developer
            .get(&format!("/teams/{}", c.team))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let owners_view = c.owner.get_html(&format!("/apps/{team_app}")).await;
    assert!(secret_row(&owners_view, &secret).contains("Active"));
    assert_eq!(owners_view.matches("status status-active").count(), 1);
    let activity = c.owner.get_html(&format!("/teams/{}", c.team)).await;
    assert!(activity.contains(&format!("Removed {} (Developer)", c.developer_email)));

    // A role change is just as immediate: the Viewer made a Developer can act at once, and
    // made a Viewer again cannot.
    let viewer = member_id(&activity, &c.viewer_email);
    let set_role = |role: &'static str| {
        let team = c.team.clone();
        let viewer = viewer.clone();
        let owner = &c.owner;
        async move {
            owner
                .submit(
                    &format!("/teams/{team}"),
                    &format!("/teams/{team}/members/{viewer}/role"),
                    &[("role", role)],
                )
                .await
                .status()
        }
    };
    assert_eq!(set_role("developer").await, StatusCode::SEE_OTHER);
    assert_eq!(
        c.viewer
            .get(&format!("/apps/{team_app}/secrets/new"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(set_role("viewer").await, StatusCode::SEE_OTHER);
    assert_eq!(
        c.viewer
            .get(&format!("/apps/{team_app}/secrets/new"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(set_role("admin").await, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_team_always_keeps_an_owner() {
    let app = spawn_app().await;
    let owner = app.new_browser();
    let owner_email = owner.signed_up().await;
    let team = create_team(&owner, "Platform").await;
    let page = owner.get_html(&format!("/teams/{team}")).await;
    let me = member_id(&page, &owner_email);
    assert!(page.contains("a team always keeps at least one Owner"));
    assert!(
        !page.contains("Leave team"),
        "the last Owner is not offered to leave"
    );

    // Forced anyway: refused with the reason, and nothing changes.
    let team_page = format!("/teams/{team}");
    for (action, fields) in [
        (format!("/teams/{team}/leave"), vec![]),
        (format!("/teams/{team}/members/{me}/remove"), vec![]),
        (
            format!("/teams/{team}/members/{me}/role"),
            vec![("role", "developer")],
        ),
    ] {
        let response = owner.submit(&team_page, &action, &fields).await;
        assert_eq!(response.status(), StatusCode::CONFLICT, "{action}");
        let body = response.text().await.unwrap();
        assert!(
            element_text(&body, "team-error").contains("at least one Owner"),
            "{action}: {body}"
        );
    }
    assert_eq!(
        element_text(&owner.get_html(&team_page).await, "my-role"),
        "Owner"
    );

    // With a second Owner, the first may leave; then the second is the last.
    let second = app.new_browser();
    let second_email = second.signed_up().await;
    assert_eq!(
        invite(&owner, &team, &second_email, "owner").await.status(),
        StatusCode::SEE_OTHER
    );
    let response = owner
        .submit(&team_page, &format!("/teams/{team}/leave"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/teams");
    assert_eq!(owner.get(&team_page).await.status(), StatusCode::NOT_FOUND);
    let page = second.get_html(&team_page).await;
    assert!(page.contains(&format!("{owner_email} left the team")));
    assert!(page.contains("a team always keeps at least one Owner"));

    // Two Owners demoting each other at the same moment: one of them stays an Owner.
    let third = app.new_browser();
    let third_email = third.signed_up().await;
    invite(&second, &team, &third_email, "owner").await;
    let page = second.get_html(&team_page).await;
    let (second_id, third_id) = (
        member_id(&page, &second_email),
        member_id(&page, &third_email),
    );
    let demote_third = format!("/teams/{team}/members/{third_id}/role");
    let demote_second = format!("/teams/{team}/members/{second_id}/role");
    let (a, b) = tokio::join!(
        second.submit(&team_page, &demote_third, &[("role", "viewer")]),
        third.submit(&team_page, &demote_second, &[("role", "viewer")]),
    );
    let statuses = [a.status(), b.status()];
    assert!(statuses.contains(&StatusCode::SEE_OTHER), "{statuses:?}");
    let page = second.get_html(&team_page).await;
    let owners = page
        .matches("a team always keeps at least one Owner")
        .count();
    assert_eq!(owners, 1, "exactly one Owner is left: {statuses:?}");
}

#[tokio::test]
async fn an_invitation_to_an_unknown_email_is_accepted_on_sign_up() {
    let mail = MailServer::start().await;
    let smtp = mail.url();
    let app = spawn_app_with(|s| s.smtp_url = Some(smtp.into())).await;
    let owner = app.new_browser();
    owner.signed_up().await;
    let team = create_team(&owner, "Growth").await;

    // Bad input is shown on the form.
    let response = invite(&owner, &team, "not an email", "viewer").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = response.text().await.unwrap();
    assert!(element_text(&body, "invite-error").contains("email"));
    assert!(body.contains("value=\"not an email\""));
    let response = invite(&owner, &team, "new@example.com", "superuser").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let response = invite(&owner, &team, "New@Example.com", "viewer").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = owner.get_html(&format!("/teams/{team}")).await;
    assert!(page.contains("Invitation recorded"));
    assert!(inner(&page, "invitations").contains("new@example.com as Viewer"));
    let again = invite(&owner, &team, "new@example.com", "owner").await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(again.text().await.unwrap().contains("already been invited"));
    eventually("the invitation mail", || {
        mail.mails_to("new@example.com")
            .iter()
            .any(|m| m.contains("Growth") && m.contains("/signup"))
    })
    .await;

    // Signing up with that email (in any case) joins the team, as the invited role.
    let newcomer = app.new_browser();
    let response = newcomer.sign_up("NEW@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = newcomer.get_html(&format!("/teams/{team}")).await;
    assert_eq!(element_text(&page, "my-role"), "Viewer");
    assert!(!page.contains("id=\"invitations\""), "no longer pending");
    assert!(page.contains("new@example.com signed up and joined as Viewer"));
    assert!(newcomer.get_html("/teams").await.contains("Growth"));

    // An existing account joins at once; a member cannot be added twice.
    let existing = app.new_browser();
    let existing_email = existing.signed_up().await;
    assert_eq!(
        invite(&owner, &team, &existing_email, "developer")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let page = existing.get_html(&format!("/teams/{team}")).await;
    assert_eq!(element_text(&page, "my-role"), "Developer");
    let twice = invite(&owner, &team, &existing_email, "viewer").await;
    assert_eq!(twice.status(), StatusCode::CONFLICT);
    assert!(twice.text().await.unwrap().contains("already a member"));
}

#[tokio::test]
async fn a_personal_app_moves_to_a_team_with_its_secrets() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let creator = &c.developer;
    let app_id = creator.create_app("Billing").await;
    let client_id = creator.client_id(&app_id).await;
    let secret = creator.generate_secret(&app_id).await;
    assert_eq!(
        c.owner.get(&format!("/apps/{app_id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let page = creator.get_html(&format!("/apps/{app_id}")).await;
    assert!(inner(&page, "app-owner").contains("You"));
    assert!(page.contains("Move to team"));

    // Nobody else may move it; the Viewer may not move their own app to a team they only view.
    let csrf = token(&c.owner).await;
    let forced = c
        .owner
        .post(
            &format!("/apps/{app_id}/move"),
            &[("csrf_token", &csrf), ("team_id", &c.team)],
        )
        .await;
    assert_eq!(forced.status(), StatusCode::NOT_FOUND);
    let viewers_app = c.viewer.create_app("Viewer's").await;
    assert!(!c
        .viewer
        .get_html(&format!("/apps/{viewers_app}"))
        .await
        .contains("Move to team"));
    let csrf = token(&c.viewer).await;
    let forced = c
        .viewer
        .post(
            &format!("/apps/{viewers_app}/move"),
            &[("csrf_token", &csrf), ("team_id", &c.team)],
        )
        .await;
    assert_eq!(forced.status(), StatusCode::FORBIDDEN);
    let csrf = token(creator).await;
    let bad = creator
        .post(
            &format!("/apps/{app_id}/move"),
            &[("csrf_token", &csrf), ("team_id", "x1")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let response = creator
        .submit(
            &format!("/apps/{app_id}"),
            &format!("/apps/{app_id}/move"),
            &[("team_id", &c.team)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = creator.get_html(&format!("/apps/{app_id}")).await;
    assert!(inner(&page, "app-owner").contains("Payments"));
    assert!(!page.contains("Move to team"));
    let moved = "Moved the app &#34;Billing&#34; to the team &#34;Payments&#34;";
    assert!(page.contains(moved), "{page}");
    let team_page = c.owner.get_html(&format!("/teams/{}", c.team)).await;
    assert!(inner(&team_page, "team-apps").contains("Billing"));
    assert!(team_page.contains(moved));

    // Its secret still works, and the team's Owner can now rotate it.
    let token_response = app.token_basic(&client_id, &secret).await;
    assert_eq!(token_response.status(), StatusCode::OK);
    let new_secret = c.owner.generate_secret(&app_id).await;
    assert_eq!(
        app.token_basic(&client_id, &new_secret).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        c.viewer.get(&format!("/apps/{app_id}")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn my_apps_lists_personal_apps_first_then_one_group_per_team() {
    let app = spawn_app().await;
    let me = app.new_browser();
    me.signed_up().await;
    let zeta = create_team(&me, "Zeta").await;
    let alpha = create_team(&me, "Alpha").await;
    create_team_app(&me, &zeta, "Zeta service").await;
    create_team_app(&me, &alpha, "Alpha service").await;
    me.create_app("Side project").await;
    // Somebody else's team and app are not listed.
    let other = app.new_browser();
    other.signed_up().await;
    let elsewhere = create_team(&other, "Elsewhere").await;
    create_team_app(&other, &elsewhere, "Not mine").await;

    let page = me.get_html("/apps").await;
    let at = |text: &str| page.find(text).unwrap_or_else(|| panic!("{text}: {page}"));
    assert!(at("Just me") < at("Side project"));
    assert!(at("Side project") < at(">Alpha</a>"));
    assert!(at(">Alpha</a>") < at("Alpha service"));
    assert!(at("Alpha service") < at(">Zeta</a>"));
    assert!(at(">Zeta</a>") < at("Zeta service"));
    assert!(!page.contains("Not mine"));
    assert!(!page.contains("Elsewhere"));
}

#[tokio::test]
async fn the_admin_review_shows_and_filters_team_owners() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let team_app = create_team_app(&c.developer, &c.team, "Team-owned").await;
    c.developer.generate_secret(&team_app).await;
    c.owner.create_app("Personally-owned").await;
    let admin = app.admin_browser().await;

    let all = admin.get_html("/admin").await;
    assert!(all.contains("Team-owned <span class=\"by\">· Team Payments"));
    assert!(all.contains("Personally-owned"));
    let filtered = admin.get_html(&format!("/admin?team={}", c.team)).await;
    assert!(filtered.contains("Team-owned"));
    assert!(!filtered.contains("Personally-owned"));
    let personal = admin.get_html("/admin?team=personal").await;
    assert!(!personal.contains("Team-owned"));
    assert!(personal.contains("Personally-owned"));
    assert_eq!(
        admin.get("/admin?team=%27or%201=1").await.status(),
        StatusCode::BAD_REQUEST
    );
    let stale = admin.get_html("/admin/stale").await;
    assert!(stale.contains("Team Payments"), "{stale}");
    let csv = admin
        .get(&format!("/admin/export.csv?team={}", c.team))
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains("Team-owned"));
    assert!(csv.contains("Team Payments"));
    assert!(!csv.contains("Personally-owned"));
}

#[tokio::test]
async fn mail_about_a_team_app_goes_to_its_owners_and_developers() {
    let mail = MailServer::start().await;
    let smtp = mail.url();
    let app = spawn_app_with(|s| s.smtp_url = Some(smtp.into())).await;
    let c = crew(&app).await;
    let team_app = create_team_app(&c.owner, &c.team, "Notified").await;
    let secret = c.developer.generate_secret(&team_app).await;
    c.developer.revoke_secret(&team_app, &secret).await;
    for to in [&c.owner_email, &c.developer_email] {
        eventually("the revocation mail", || {
            mail.mails_to(to).iter().any(|m| m.contains("Notified"))
        })
        .await;
    }
    assert!(
        mail.mails_to(&c.viewer_email).is_empty(),
        "Viewers are not mailed"
    );
}

#[tokio::test]
async fn invitations_are_bounded_per_team_and_per_inviter_even_when_sent_at_once() {
    let app = spawn_app().await;
    let owner = app.new_browser();
    let email = owner.signed_up().await;
    let first = create_team(&owner, "One").await;
    let second = create_team(&owner, "Two").await;
    let csrf = token(&owner).await;
    let send = |team: String, n: usize| {
        let owner = &owner;
        let csrf = csrf.clone();
        async move {
            let response = owner
                .post(
                    &format!("/teams/{team}/invitations"),
                    &[
                        ("csrf_token", csrf.as_str()),
                        ("email", &format!("person{n}@example.com")),
                        ("role", "viewer"),
                    ],
                )
                .await;
            (response.status(), response.text().await.unwrap())
        }
    };
    for n in 0..100 {
        assert_eq!(send(first.clone(), n).await.0, StatusCode::SEE_OTHER);
    }
    let (status, body) = send(first.clone(), 100).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body.contains("100 pending invitations"));

    // 195 sent; 15 more at the same moment: exactly 5 get through.
    for n in 100..195 {
        assert_eq!(send(second.clone(), n).await.0, StatusCode::SEE_OTHER);
    }
    let third = create_team(&owner, "Three").await;
    let at_once = futures_util::future::join_all((195..210).map(|n| send(third.clone(), n))).await;
    let accepted = at_once
        .iter()
        .filter(|(s, _)| *s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(
        accepted,
        5,
        "{:?}",
        at_once.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    let refused = at_once
        .iter()
        .find(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .expect("the rest are refused");
    assert!(refused.1.contains("try again tomorrow"));
    let page = owner.get_html(&format!("/teams/{third}")).await;
    assert_eq!(inner(&page, "invitations").matches("<li>").count(), 5);

    // A day later the allowance is back.
    app.clock.advance(chrono::TimeDelta::hours(25));
    owner.log_in(&email, PASSWORD).await;
    let csrf = token(&owner).await;
    let response = owner
        .post(
            &format!("/teams/{third}/invitations"),
            &[
                ("csrf_token", csrf.as_str()),
                ("email", "late@example.com"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn owners_rename_and_delete_a_team_that_owns_no_apps() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let page = format!("/teams/{}", c.team);
    let blank = c
        .owner
        .submit(
            &page,
            &format!("/teams/{}/rename", c.team),
            &[("name", " \t")],
        )
        .await;
    assert_eq!(blank.status(), StatusCode::BAD_REQUEST);
    assert!(blank
        .text()
        .await
        .unwrap()
        .contains("Enter a name for the team."));
    let renamed = c
        .owner
        .submit(
            &page,
            &format!("/teams/{}/rename", c.team),
            &[("name", "Payments Core")],
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
    let seen = c.viewer.get_html(&page).await;
    assert!(seen.contains("<h1>Payments Core</h1>"));
    assert!(seen.contains("Renamed the team from &#34;Payments&#34; to &#34;Payments Core&#34;"));

    // With an app it cannot be deleted; the confirmation says why.
    let app_id = create_team_app(&c.developer, &c.team, "Keeps it alive").await;
    let delete = format!("/teams/{}/delete", c.team);
    let confirm = c.owner.get_html(&delete).await;
    assert!(element_text(&confirm, "delete-refused").contains("cannot be deleted"));
    assert_eq!(
        c.developer.get(&delete).await.status(),
        StatusCode::FORBIDDEN
    );
    let csrf = token(&c.owner).await;
    let refused = c.owner.post(&delete, &[("csrf_token", &csrf)]).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_eq!(
        c.owner.get(&format!("/apps/{app_id}")).await.status(),
        StatusCode::OK
    );

    // A Developer's edit of the app's redirect URIs is checked like the New app form.
    let bad = c
        .developer
        .submit(
            &format!("/apps/{app_id}/redirect-uris"),
            &format!("/apps/{app_id}/redirect-uris"),
            &[("redirect_uris", "http://example.com/cb")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let form = bad.text().await.unwrap();
    assert!(form.contains(">http://example.com/cb</textarea>"), "{form}");
    assert!(element_text(&form, "redirect_uris-error").contains("https"));

    // A team without apps can be deleted, with its members and invitations.
    let other = create_team(&c.owner, "Short-lived").await;
    let response = c
        .owner
        .submit(
            &format!("/teams/{other}/delete"),
            &format!("/teams/{other}/delete"),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        c.owner.get(&format!("/teams/{other}")).await.status(),
        StatusCode::NOT_FOUND
    );
}
