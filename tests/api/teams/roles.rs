//! Each role's allowed and refused actions on each kind of app.

use super::{create_team_app, crew, inner, member_id, token};
use crate::helpers::{element_text, spawn_app, Browser};
use reqwest::StatusCode;

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
        // Invalid input too: the form is the Owners', so the answer is the same.
        let response = who
            .post(
                &format!("/teams/{}/invitations", c.team),
                &[
                    ("csrf_token", &csrf),
                    ("email", "not an email"),
                    ("role", "owner"),
                ],
            )
            .await;
        assert_eq!(response.status(), want);
        let response = who
            .post(
                &format!("/teams/{}/members/1/role", c.team),
                &[("csrf_token", &csrf), ("role", "superuser")],
            )
            .await;
        assert_eq!(response.status(), want);
        // Removing oneself is leaving, which has its own form; the Owners' form is not it.
        let me = if std::ptr::eq(who, &c.developer) {
            &c.developer_email
        } else {
            &c.viewer_email
        };
        if want == StatusCode::FORBIDDEN {
            let page = who.get_html(&format!("/teams/{}", c.team)).await;
            let id = member_id(&page, me);
            let response = who
                .post(
                    &format!("/teams/{}/members/{id}/remove", c.team),
                    &[("csrf_token", &csrf)],
                )
                .await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            assert!(!page.contains("id=\"invitations\""));
        }
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
