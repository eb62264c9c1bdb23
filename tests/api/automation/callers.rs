//! The Callers table: while two secrets are live, every machine seen in the last day and the
//! secret it last used, shared through the database and written without a write per request.

use super::{create_secret, created_secret, developer_with_token};
use crate::helpers::{spawn_app, TestApp};
use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::json;

async fn token_from(app: &TestApp, user_agent: &str, client_id: &str, secret: &str) -> StatusCode {
    app.machine()
        .post(format!("{}/oauth/token", app.address))
        .header("User-Agent", user_agent)
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
}

/// The Callers table's rows, as (User-Agent, secret hint) pairs.
fn callers(page: &str) -> Vec<(String, String)> {
    let table = &page[page.find("id=\"callers\"").expect("a Callers table")..];
    let table = &table[..table.find("</table>").unwrap()];
    table
        .split("<tr")
        .skip(2)
        .filter(|row| row.contains("<code>"))
        .map(|row| {
            let cells: Vec<&str> = row.split("<td>").skip(1).collect();
            let text = |cell: &str| {
                let cell = cell.split("</td>").next().unwrap();
                let mut out = String::new();
                let mut inside = false;
                for c in cell.chars() {
                    match c {
                        '<' => inside = true,
                        '>' => inside = false,
                        c if !inside => out.push(c),
                        _ => {}
                    }
                }
                out.trim().to_owned()
            };
            (text(cells[1]), text(cells[2]))
        })
        .collect()
}

#[tokio::test]
async fn the_callers_table_shows_which_machine_still_has_the_old_secret() {
    let app = spawn_app().await;
    let (app_id, client_id, token) = developer_with_token(&app).await;
    let old = app.browser.generate_secret(&app_id).await;
    assert_eq!(
        token_from(&app, "billing-worker/1.0", &client_id, &old).await,
        StatusCode::OK
    );
    assert_eq!(
        token_from(&app, "web-frontend/2.3", &client_id, &old).await,
        StatusCode::OK
    );
    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(
        !page.contains("id=\"callers\""),
        "one live secret: no table yet"
    );
    let created = created_secret(&app, &client_id, &token, json!({})).await;
    let new = created["secret"].as_str().unwrap().to_owned();
    let old_hint = format!("••••{}", &old[old.len() - 4..]);
    let new_hint = format!("••••{}", &new[new.len() - 4..]);

    // The frontend is moved to the new secret, many times within the minute; the worker is not.
    for _ in 0..5 {
        assert_eq!(
            token_from(&app, "web-frontend/2.3", &client_id, &new).await,
            StatusCode::OK
        );
        assert_eq!(
            token_from(&app, "billing-worker/1.0", &client_id, &old).await,
            StatusCode::OK
        );
    }
    app.clock.advance(TimeDelta::seconds(1));

    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    let rows = callers(&page);
    assert_eq!(rows.len(), 2, "one row per machine: {rows:?}");
    assert!(
        rows[0].1.contains("older secret"),
        "the machine to move comes first: {rows:?}"
    );
    assert!(
        rows.contains(&("web-frontend/2.3".to_owned(), new_hint.clone())),
        "{rows:?}"
    );
    assert!(
        rows.contains(&(
            "billing-worker/1.0".to_owned(),
            format!("{old_hint} older secret")
        )),
        "{rows:?}"
    );
    assert!(page.contains("<th scope=\"col\">Address</th><th scope=\"col\">User-Agent</th><th scope=\"col\">Secret</th><th scope=\"col\">Last seen</th>"));

    // A day later without calls, the table is empty but still there (two secrets are live).
    app.clock.advance(TimeDelta::hours(25));
    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(callers(&page).is_empty());
    assert!(page.contains("No calls in the last 24 hours."));
}

#[tokio::test]
async fn callers_are_shared_by_every_instance_on_the_database() {
    let app = spawn_app().await;
    let (app_id, client_id, token) = developer_with_token(&app).await;
    let old = app.browser.generate_secret(&app_id).await;
    create_secret(&app, &client_id, &token, json!({})).await;
    let settings = crate::helpers::test_settings(&app.database_url);
    let (other, _) = crate::helpers::start_server_with_clock(settings, app.clock.clone()).await;

    let answer = app
        .machine()
        .post(format!("{other}/oauth/token"))
        .header("User-Agent", "cron/0.1")
        .basic_auth(&client_id, Some(&old))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    app.clock.advance(TimeDelta::seconds(1));

    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert!(
        callers(&page).iter().any(|(ua, _)| ua == "cron/0.1"),
        "{page}"
    );
}

#[tokio::test]
async fn a_client_that_changes_its_user_agent_every_request_cannot_make_every_request_a_write() {
    let app = spawn_app().await;
    let (app_id, client_id, token) = developer_with_token(&app).await;
    let old = app.browser.generate_secret(&app_id).await;
    create_secret(&app, &client_id, &token, json!({})).await;

    for n in 0..60 {
        let agent = format!("scanner/{n}");
        assert_eq!(
            token_from(&app, &agent, &client_id, &old).await,
            StatusCode::OK
        );
    }

    // Within one minute: the first use, then 30 new callers; the rest are not written.
    let page = app.browser.get_html(&format!("/apps/{app_id}")).await;
    assert_eq!(callers(&page).len(), 31);
    assert!(!page.contains("id=\"callers-more\""));
}
