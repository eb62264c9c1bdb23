//! Team apps: Move to team, My Apps groups, the admin review and mail.

use super::{create_team, create_team_app, crew, inner, token};
use crate::helpers::{spawn_app, spawn_mailing_app};
use crate::notifications::{eventually, MailServer};
use reqwest::StatusCode;

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
    assert!(
        page.contains("<a href=\"/teams\">Teams</a>"),
        "Teams in the navigation"
    );
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
    let searched = admin.get_html("/admin?q=payMENTS").await;
    assert!(searched.contains("Team-owned"));
    assert!(!searched.contains("Personally-owned"));
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
    let app = spawn_mailing_app(&mail, |_| {}).await;
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
