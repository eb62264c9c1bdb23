//! Removal, roles, the last Owner, invitations and their limits, renaming and deleting.

use super::{create_team, create_team_app, crew, inner, invite, member_id, token};
use crate::helpers::{
    csrf_token, element_text, location, secret_row, spawn_app, spawn_app_with, spawn_mailing_app,
    PASSWORD,
};
use crate::notifications::{eventually, MailServer};
use reqwest::StatusCode;

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
    let app = spawn_mailing_app(&mail, |_| {}).await;
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

    // Signing up with that email (in any case) joins the team, as the invited role, once the
    // mailed link proves the address: before that, whoever signed up is not a member.
    let newcomer = app.new_browser();
    let response = newcomer.sign_up("NEW@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let before = newcomer.get(&format!("/teams/{team}")).await;
    assert_eq!(before.status(), StatusCode::NOT_FOUND);
    assert!(inner(
        &owner.get_html(&format!("/teams/{team}")).await,
        "invitations"
    )
    .contains("new@example.com as Viewer"));
    newcomer.verify_email("new@example.com").await;
    let page = newcomer.get_html(&format!("/teams/{team}")).await;
    assert_eq!(element_text(&page, "my-role"), "Viewer");
    let owners_view = owner.get_html(&format!("/teams/{team}")).await;
    assert!(
        !owners_view.contains("id=\"invitations\""),
        "no longer pending"
    );
    assert!(owners_view.contains("new@example.com signed up and joined as Viewer"));
    assert!(
        !page.contains("id=\"team-activity\""),
        "the Activity is the Owners'"
    );
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
    // Adding somebody who has an account counts too.
    let existing = app.new_browser();
    let existing_email = existing.signed_up().await;
    let response = owner
        .post(
            &format!("/teams/{third}/invitations"),
            &[
                ("csrf_token", csrf.as_str()),
                ("email", existing_email.as_str()),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        existing.get(&format!("/teams/{third}")).await.status(),
        StatusCode::NOT_FOUND
    );

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
    for spoof in ["Pay\u{202E}stnem", "\u{200B}", "\u{200D}\u{FE0F}"] {
        let response = c
            .owner
            .submit(
                &page,
                &format!("/teams/{}/rename", c.team),
                &[("name", spoof)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{spoof:?}");
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("invisible characters"));
    }
    let response = invite(&c.owner, &c.team, "admin\u{200B}@example.com", "owner").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let emoji = create_team(&c.owner, "👨\u{200D}👩\u{200D}👧 Family").await;
    assert!(c
        .owner
        .get_html(&format!("/teams/{emoji}"))
        .await
        .contains("<h1>👨\u{200D}👩\u{200D}👧 Family</h1>"));
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
    assert!(c
        .owner
        .get_html(&page)
        .await
        .contains("Renamed the team from &#34;Payments&#34; to &#34;Payments Core&#34;"));

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

#[tokio::test]
async fn an_owner_who_leaves_the_role_takes_their_pending_invitations_along() {
    let app = spawn_app().await;
    let c = crew(&app).await;
    let page = format!("/teams/{}", c.team);
    // Two more Owners, each of whom invites an address that has no account yet.
    let mut owners = Vec::new();
    for n in 0..2 {
        let browser = app.new_browser();
        let email = browser.signed_up().await;
        invite(&c.owner, &c.team, &email, "owner").await;
        let planted = format!("planted{n}@example.com");
        assert_eq!(
            invite(&browser, &c.team, &planted, "owner").await.status(),
            StatusCode::SEE_OTHER
        );
        owners.push((email, planted));
    }
    // Only Owners see who is invited.
    assert!(!c.viewer.get_html(&page).await.contains("planted"));
    let listed = c.owner.get_html(&page).await;
    assert!(inner(&listed, "invitations").contains("planted0@example.com"));

    // One is removed, the other made a Developer: their invitations go with the role.
    let removed = member_id(&listed, &owners[0].0);
    let demoted = member_id(&listed, &owners[1].0);
    let response = c
        .owner
        .submit(
            &page,
            &format!("/teams/{}/members/{removed}/remove", c.team),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = c
        .owner
        .submit(
            &page,
            &format!("/teams/{}/members/{demoted}/role", c.team),
            &[("role", "developer")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let listed = c.owner.get_html(&page).await;
    assert!(!listed.contains("id=\"invitations\""), "{listed}");
    assert!(listed.contains("Withdrew the invitation of planted0@example.com"));
    for (_, planted) in &owners {
        let newcomer = app.new_browser();
        assert_eq!(
            newcomer.sign_up(planted, PASSWORD).await.status(),
            StatusCode::SEE_OTHER
        );
        assert_eq!(newcomer.get(&page).await.status(), StatusCode::NOT_FOUND);
    }

    // An invitation that is not there (another team's, or gone) cannot be cancelled.
    let csrf = token(&c.owner).await;
    for id in ["1", "999999"] {
        let response = c
            .owner
            .post(
                &format!("/teams/{}/invitations/{id}/cancel", c.team),
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{id}");
    }
}

/// A generate is checked again when it writes: a Developer removed while their secret was
/// being hashed gets no secret.
#[tokio::test]
async fn a_member_removed_while_their_secret_is_hashed_gets_no_secret() {
    // Cost 13: hashing takes long enough for the removal to land in the middle of it.
    let app = spawn_app_with(|s| s.bcrypt_cost = 13).await;
    let c = crew(&app).await;
    let app_id = create_team_app(&c.owner, &c.team, "Slow hash").await;
    let page = c.owner.get_html(&format!("/teams/{}", c.team)).await;
    let developer = member_id(&page, &c.developer_email);
    let form = c
        .developer
        .get_html(&format!("/apps/{app_id}/secrets/new"))
        .await;
    let csrf = csrf_token(&form);

    let started = std::time::Instant::now();
    let generate_path = format!("/apps/{app_id}/secrets");
    let remove_path = format!("/teams/{}/members/{developer}/remove", c.team);
    let owners_csrf = csrf_token(&page);
    let generate = async {
        let response = c
            .developer
            .post(&generate_path, &[("csrf_token", &csrf)])
            .await;
        (response.status(), started.elapsed())
    };
    let remove = async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let response = c
            .owner
            .post(&remove_path, &[("csrf_token", &owners_csrf)])
            .await;
        (response.status(), started.elapsed())
    };
    let ((generated, generated_after), (removed, removed_after)) = tokio::join!(generate, remove);
    assert_eq!(removed, StatusCode::SEE_OTHER);
    assert!(
        generated_after > removed_after,
        "the removal landed while the secret was hashed ({generated_after:?}, {removed_after:?})"
    );
    assert_eq!(generated, StatusCode::NOT_FOUND);
    let owners_view = c.owner.get_html(&format!("/apps/{app_id}")).await;
    assert!(owners_view.contains("No secrets yet"), "{owners_view}");
}
