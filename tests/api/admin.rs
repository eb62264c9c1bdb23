//! The admin review: every app with its owner and secrets, search, filters, sorting, pages,
//! CSV export, the stale view, and revoking any secret.

use crate::helpers::{location, secret_row, spawn_app, Browser, TestApp};
use chrono::TimeDelta;
use reqwest::StatusCode;

/// Two developers: Ada with "Alpha Shop" (two secrets, one used) and "Empty App" (none), Bob
/// with "Bravo Books" (one unused secret).
struct World {
    app: TestApp,
    ada: Browser,
    alpha: String,
    alpha_client: String,
    used: String,
    unused: String,
    bob_secret: String,
}

async fn world() -> World {
    let app = spawn_app().await;
    let ada = app.new_browser();
    ada.sign_up("ada@example.com", crate::helpers::PASSWORD)
        .await;
    let alpha = ada.create_app("Alpha Shop").await;
    let alpha_client = ada.client_id(&alpha).await;
    let used = ada.generate_secret(&alpha).await;
    let unused = ada.generate_secret(&alpha).await;
    ada.create_app("Empty App").await;
    let bob = app.new_browser();
    bob.sign_up("bob@example.com", crate::helpers::PASSWORD)
        .await;
    let bravo = bob.create_app("Bravo Books").await;
    let bob_secret = bob.generate_secret(&bravo).await;
    app.token_basic(&alpha_client, &used).await;
    World {
        app,
        ada,
        alpha,
        alpha_client,
        used,
        unused,
        bob_secret,
    }
}

fn hint(secret: &str) -> String {
    format!("••••{}", &secret[secret.len() - 4..])
}

#[tokio::test]
async fn non_admins_get_403_on_every_admin_url() {
    let w = world().await;

    for path in [
        "/admin",
        "/admin/stale",
        "/admin/export.csv",
        "/admin/secrets/1/revoke",
        "/admin?page=2",
    ] {
        let response = w.ada.get(path).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let post = w.ada.submit("/apps", "/admin/secrets/1/revoke", &[]).await;
    assert_eq!(post.status(), StatusCode::FORBIDDEN);
    let anonymous = w.app.new_browser().get("/admin").await;
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert!(!w.ada.get_html("/apps").await.contains(">Admin</a>"));
}

#[tokio::test]
async fn the_admin_review_lists_every_app_with_its_owner_and_secrets() {
    let w = world().await;
    let admin = w.app.admin_browser().await;

    let page = admin.get_html("/admin").await;

    assert!(page.contains("<h1>All apps</h1>"));
    assert!(page.contains(">Admin</a>"));
    for expected in [
        "Alpha Shop",
        "Bravo Books",
        "Empty App",
        "ada@example.com",
        "bob@example.com",
        &w.alpha_client,
        &hint(&w.used),
        &hint(&w.unused),
        &hint(&w.bob_secret),
        "No secrets",
    ] {
        assert!(page.contains(expected), "{expected} missing");
    }
    let used_row = secret_row(&page, &w.used);
    assert!(used_row.contains("just now"), "{used_row}");
    assert!(secret_row(&page, &w.unused).contains("Never"));
    // Each app heads its own secrets.
    let alpha_at = page.find("Alpha Shop <span").unwrap();
    let bravo_at = page.find("Bravo Books <span").unwrap();
    let used_at = page.find(&hint(&w.used)).unwrap();
    assert!(alpha_at < used_at && used_at < bravo_at);
}

#[tokio::test]
async fn admins_search_by_app_name_owner_email_or_client_id() {
    let w = world().await;
    let admin = w.app.admin_browser().await;

    let by_name = admin.get_html("/admin?q=bravo").await;
    let shouted = admin.get_html("/admin?q=BRAVO%20b").await;
    let by_email = admin.get_html("/admin?q=ada%40example").await;
    let by_client = admin
        .get_html(&format!("/admin?q={}", w.alpha_client))
        .await;
    let wildcard = admin.get_html("/admin?q=%25").await;

    assert!(by_name.contains("Bravo Books") && !by_name.contains("Alpha Shop"));
    // Case is ignored on both sides, on SQLite and PostgreSQL alike.
    assert!(shouted.contains("Bravo Books") && !shouted.contains("Alpha Shop"));
    assert!(
        by_email.contains("Alpha Shop")
            && by_email.contains("Empty App")
            && !by_email.contains("Bravo Books")
    );
    assert!(by_client.contains("Alpha Shop") && !by_client.contains("Empty App"));
    assert!(
        wildcard.contains("Nothing matches."),
        "% is searched literally"
    );
}

#[tokio::test]
async fn admins_filter_by_status_and_by_how_long_secrets_were_unused() {
    let w = world().await;
    let admin = w.app.admin_browser().await;
    w.ada.revoke_secret(&w.alpha, &w.unused).await;

    let active = admin.get_html("/admin?status=active").await;
    let revoked = admin.get_html("/admin?status=revoked").await;
    let never = admin.get_html("/admin?unused=never").await;
    w.app.clock.advance(TimeDelta::days(10));
    w.app.token_basic(&w.alpha_client, &w.used).await;
    w.app.clock.advance(TimeDelta::days(3));
    let unused_5_days = admin.get_html("/admin?unused=days&days=5").await;
    let unused_2_days = admin.get_html("/admin?unused=days&days=2").await;

    assert!(active.contains(&hint(&w.used)) && active.contains(&hint(&w.bob_secret)));
    assert!(!active.contains(&hint(&w.unused)) && !active.contains("Empty App"));
    assert!(revoked.contains(&hint(&w.unused)) && !revoked.contains(&hint(&w.used)));
    assert!(never.contains(&hint(&w.unused)) && never.contains(&hint(&w.bob_secret)));
    assert!(!never.contains(&hint(&w.used)));
    // Used 3 days ago: stale for "more than 2 days", not for "more than 5".
    assert!(
        !unused_5_days.contains(&hint(&w.used)) && unused_5_days.contains(&hint(&w.bob_secret))
    );
    assert!(unused_2_days.contains(&hint(&w.used)));
    let bad = admin.get("/admin?unused=days&days=abc").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        admin.get("/admin?status=weird").await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn sorting_by_last_used_puts_the_stalest_secrets_first() {
    let w = world().await;
    let admin = w.app.admin_browser().await;
    w.app.clock.advance(TimeDelta::days(2));
    w.app.token_basic(&w.alpha_client, &w.unused).await;

    let oldest_first = admin.get_html("/admin?sort=last_used").await;
    let newest_first = admin.get_html("/admin?sort=last_used_desc").await;

    let at = |page: &str, secret: &str| page.find(&hint(secret)).unwrap();
    // Never used, then used 2 days ago, then used just now.
    assert!(at(&oldest_first, &w.bob_secret) < at(&oldest_first, &w.used));
    assert!(at(&oldest_first, &w.used) < at(&oldest_first, &w.unused));
    assert!(at(&newest_first, &w.unused) < at(&newest_first, &w.used));
    assert!(at(&newest_first, &w.used) < at(&newest_first, &w.bob_secret));
}

#[tokio::test]
async fn the_review_is_paginated_fifty_rows_a_page() {
    let app = spawn_app().await;
    app.browser.signed_up().await;
    for n in 0..55 {
        app.browser.create_app(&format!("App {n:02}")).await;
    }
    let admin = app.admin_browser().await;

    let first = admin.get_html("/admin").await;
    let second = admin
        .get_html(&format!(
            "/admin?{}",
            "q=&status=all&unused=any&days=&sort=app&page=2"
        ))
        .await;

    assert_eq!(first.matches("class=\"app-row\"").count(), 50);
    assert_eq!(second.matches("class=\"app-row\"").count(), 5);
    assert!(first.contains("55 rows, page 1 of 2."));
    assert!(first.contains("rel=\"next\""));
    assert!(second.contains("rel=\"prev\"") && !second.contains("rel=\"next\""));
    assert!(first.contains("App 00") && !first.contains("App 50"));
    assert!(second.contains("App 54"));
    assert_eq!(
        admin.get("/admin?page=0").await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn the_table_exports_as_csv_with_the_same_filters() {
    let w = world().await;
    w.ada.create_app("=HYPERLINK(\"http://evil\")").await;
    let admin = w.app.admin_browser().await;

    let response = admin.get("/admin/export.csv?q=alpha").await;
    let everything = admin.get("/admin/export.csv").await.text().await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "app,client_id,owner,secret,label,created,last_used,status,status_at"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines.iter().any(|l| l.contains(&hint(&w.used))
        && l.contains("Active")
        && l.contains("ada@example.com")));
    assert!(!csv.contains("Bravo"));
    // A formula in an app name is neutralised and quoted.
    assert!(
        everything.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
        "{everything}"
    );
    assert!(
        !everything.contains(&w.used[4..20]),
        "no secret material in the export"
    );
}

#[tokio::test]
async fn the_stale_view_shows_unused_secrets_and_half_done_rotations() {
    let w = world().await;
    let admin = w.app.admin_browser().await;

    let fresh = admin.get_html("/admin/stale").await;
    w.app.clock.advance(TimeDelta::days(8));
    let week_later = admin.get_html("/admin/stale").await;
    w.app.token_basic(&w.alpha_client, &w.used).await;
    w.app.clock.advance(TimeDelta::days(31));
    w.app.token_basic(&w.alpha_client, &w.unused).await;
    let month_later = admin.get_html("/admin/stale").await;

    // Never used: stale at once.
    assert!(fresh.contains(&hint(&w.bob_secret)) && fresh.contains(&hint(&w.unused)));
    assert!(!fresh.contains(&hint(&w.used)));
    let half_done = |page: &str| page.split("half-done-heading").last().unwrap().to_owned();
    assert!(!half_done(&fresh).contains("Alpha Shop"));
    assert!(
        half_done(&week_later).contains("Alpha Shop"),
        "two active secrets for 8 days"
    );
    // Used 31 days ago: stale; used just now: not.
    let unused_section = month_later.split("half-done-heading").next().unwrap();
    assert!(unused_section.contains(&hint(&w.used)));
    assert!(!unused_section.contains(&hint(&w.unused)));
}

#[tokio::test]
async fn admins_revoke_any_secret_and_the_owner_sees_it_in_the_activity() {
    let w = world().await;
    let admin = w.app.admin_browser().await;
    let path = {
        let page = admin.get_html("/admin").await;
        let row = secret_row(&page, &w.used);
        let start = row.find("/admin/secrets/").unwrap();
        row[start..start + row[start..].find('"').unwrap()].to_owned()
    };

    let confirm = admin.get_html(&path).await;
    let without_hint = admin.submit(&path, &path, &[]).await;
    let response = admin
        .submit(
            &path,
            &path,
            &[("confirm_hint", &w.used[w.used.len() - 4..])],
        )
        .await;

    assert!(confirm.contains(">Confirm</button>"));
    assert!(confirm.contains(&hint(&w.used)));
    assert_eq!(
        without_hint.status(),
        StatusCode::BAD_REQUEST,
        "a secret used just now needs its hint typed"
    );
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/admin");
    assert_eq!(
        w.app.token_basic(&w.alpha_client, &w.used).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let owner_page = w.ada.get_html(&format!("/apps/{}", w.alpha)).await;
    assert!(
        owner_page.contains(&format!(
            "Revoked {}, by admin@example.com (admin)",
            hint(&w.used)
        )),
        "{owner_page}"
    );
    assert!(owner_page.contains(&format!("Generated {}, by ada@example.com", hint(&w.used))));
}

#[tokio::test]
async fn the_review_shows_every_change_on_the_next_request_even_within_the_same_second() {
    // A stopped clock: every request below happens in the same second, so only the database's
    // change generation can tell the review that its cached page is out of date.
    let app =
        crate::helpers::spawn_app_with_clock(|_| {}, keyturn::infra::clock::Clock::stopped()).await;
    let admin = app.admin_browser().await;
    let dev = app.new_browser();
    dev.sign_up("dev@example.com", crate::helpers::PASSWORD)
        .await;
    let shop = dev.create_app("Corner Shop").await;
    let before = admin.get_html("/admin").await;
    let secret = dev.generate_secret(&shop).await;
    let with_secret = admin.get_html("/admin").await;
    let client_id = dev.client_id(&shop).await;
    dev.revoke_secret(&shop, &secret).await;
    let after_revoke = admin.get_html("/admin").await;

    assert!(before.contains("Corner Shop") && before.contains("No secrets"));
    assert!(!before.contains(&hint(&secret)));
    let row = secret_row(&with_secret, &secret);
    assert!(row.contains("Active"), "{row}");
    assert!(with_secret.contains(&client_id));
    let row = secret_row(&after_revoke, &secret);
    assert!(row.contains("Revoked"), "{row}");
}

#[tokio::test]
async fn names_and_emails_are_escaped_in_the_review() {
    let app = spawn_app().await;
    let admin = app.admin_browser().await;
    let dev = app.new_browser();
    dev.sign_up("dev@example.com", crate::helpers::PASSWORD)
        .await;
    dev.create_app("<img src=x onerror=alert(1)> & Co").await;

    let page = admin.get_html("/admin").await;

    assert!(
        !page.contains("<img src=x"),
        "markup from a name reached the page"
    );
    assert!(page.contains("&#60;img src=x onerror=alert(1)&#62; &#38; Co"));
}

/// `count` apps named "Bulk 00000" upwards, without secrets, written straight to the database:
/// through the pages they would take minutes.
fn bulk_apps(app: &TestApp, count: usize) {
    use diesel::RunQueryDsl;
    use keyturn::db::{apps, schema, users};
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let now = chrono::Utc::now().naive_utc();
    let owner = users::insert(
        &mut conn,
        &users::NewUser {
            email: "bulk@example.com",
            password_hash: "x",
            is_admin: false,
            created_at: now,
            email_verified_at: Some(now),
        },
    )
    .unwrap();
    let names: Vec<(String, String)> = (0..count)
        .map(|n| (format!("Bulk {n:05}"), format!("ktc_bulk_{n:05}")))
        .collect();
    keyturn::db::write_transaction(&mut conn, |conn| {
        for chunk in names.chunks(500) {
            let rows: Vec<apps::NewApp> = chunk
                .iter()
                .map(|(name, client_id)| apps::NewApp {
                    owner_id: owner.id,
                    name,
                    client_id,
                    redirect_uris: "",
                    created_at: now,
                    team_id: None,
                })
                .collect();
            let insert = diesel::insert_into(schema::apps::table).values(&rows);
            // A batch insert runs on the backend's own connection.
            match conn {
                keyturn::db::Conn::Sqlite(c) => insert.execute(c)?,
                keyturn::db::Conn::Postgres(c) => insert.execute(c)?,
            };
        }
        Ok::<_, diesel::result::Error>(())
    })
    .unwrap();
}

#[tokio::test]
async fn past_ten_thousand_matches_the_review_says_so_and_still_pages_to_the_end() {
    let app = spawn_app().await;
    bulk_apps(&app, 10_050);
    let admin = app.admin_browser().await;

    let first = admin.get_html("/admin").await;
    let last = admin.get_html("/admin?page=201").await;
    let beyond = admin.get_html("/admin?page=202").await;

    assert!(first.contains("10,000+ rows, page 1."), "{first}");
    assert!(first.contains("<span>Page 1</span>"));
    assert!(first.contains("rel=\"next\""));
    assert!(first.contains("Bulk 00000") && !first.contains("Bulk 00050"));
    assert!(last.contains("10,000+ rows, page 201."));
    assert!(last.contains("Bulk 10049") && !last.contains("Bulk 09999"));
    assert!(last.contains("rel=\"prev\"") && !last.contains("rel=\"next\""));
    assert!(beyond.contains("Nothing matches.") && !beyond.contains("rel=\"next\""));
    // Under the cap the count is exact, as before.
    let some = admin.get_html("/admin?q=Bulk%200999").await;
    assert!(some.contains("10 rows, page 1 of 1."), "{some}");
}

#[tokio::test]
async fn the_csv_export_streams_every_row_in_the_order_of_the_review() {
    let app = spawn_app().await;
    bulk_apps(&app, 10_050);
    let admin = app.admin_browser().await;

    let response = admin.get("/admin/export.csv").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"keyturn-secrets.csv\""
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    // Streamed: no length known up front.
    assert!(response.headers().get("content-length").is_none());
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "app,client_id,owner,secret,label,created,last_used,status,status_at"
    );
    assert_eq!(
        lines.len(),
        10_050 + 2,
        "a header, every row, a final line end"
    );
    assert_eq!(lines.last(), Some(&""));
    for (n, line) in lines[1..=10_050].iter().enumerate() {
        assert_eq!(
            *line,
            format!("Bulk {n:05},ktc_bulk_{n:05},bulk@example.com,,,,,No secrets,")
        );
    }
}

#[tokio::test]
async fn sorted_by_a_secret_apps_without_secrets_come_after_every_secret_on_every_page() {
    use keyturn::db::admin::{self, AdminFilter, AdminSort, Matches, OwnerFilter};
    use keyturn::db::admin::{StatusFilter, UnusedFilter, Window};
    let w = world().await;
    let admin_browser = w.app.admin_browser().await;
    let pool = w.app.pool();
    let mut conn = pool.get().unwrap();
    let now = w.app.clock.now();
    let filter = |sort| AdminFilter {
        search: None,
        owner: OwnerFilter::Any,
        status: StatusFilter::All,
        unused: UnusedFilter::Any,
        sort,
    };
    let rows_one_at_a_time = |conn: &mut keyturn::db::Conn, sort| {
        (0..5)
            .map(|offset| {
                let window = Window {
                    offset,
                    limit: 1,
                    count_cap: 2,
                };
                let page = admin::page(conn, &filter(sort), now, window).unwrap();
                assert_eq!(page.matches, Matches::MoreThan(2), "counted up to the cap");
                assert_eq!(page.more, offset < 3, "offset {offset}");
                page.rows
                    .first()
                    .map(|r| r.hint.clone().unwrap_or_else(|| r.app_name.clone()))
            })
            .collect::<Vec<_>>()
    };
    let last4 = |secret: &str| Some(secret[secret.len() - 4..].to_owned());

    let oldest_first = rows_one_at_a_time(&mut conn, AdminSort::LastUsedOldest);
    let newest_first = rows_one_at_a_time(&mut conn, AdminSort::LastUsedNewest);
    let newest_secret = rows_one_at_a_time(&mut conn, AdminSort::NewestSecret);
    let window = Window {
        offset: 0,
        limit: 50,
        count_cap: 10,
    };
    let all = admin::page(&mut conn, &filter(AdminSort::App), now, window).unwrap();
    let page = admin_browser.get_html("/admin?sort=last_used").await;

    // Never used (oldest secret first), then used; the app without secrets last.
    let empty = Some("Empty App".to_owned());
    assert_eq!(
        oldest_first,
        [
            last4(&w.unused),
            last4(&w.bob_secret),
            last4(&w.used),
            empty.clone(),
            None
        ]
    );
    assert_eq!(
        newest_first,
        [
            last4(&w.used),
            last4(&w.bob_secret),
            last4(&w.unused),
            empty.clone(),
            None
        ]
    );
    assert_eq!(
        newest_secret,
        [
            last4(&w.bob_secret),
            last4(&w.unused),
            last4(&w.used),
            empty,
            None
        ]
    );
    assert_eq!(all.matches, Matches::Exactly(4));
    assert!(!all.more);
    assert!(page.find(&hint(&w.used)).unwrap() < page.find("Empty App").unwrap());
    assert!(page.contains("4 rows, page 1 of 1."));
}
