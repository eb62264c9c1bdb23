//! Fills a database with realistic-looking apps for the admin-review benchmark:
//! `cargo run --release --example seed -- DATABASE_PATH [APPS]` (default 10,000 apps, 500 owners,
//! one or two secrets each, last used anywhere in the past 90 days or never, some revoked).
//! The secrets' hashes are placeholders: they fill the tables, they do not authenticate.

use chrono::TimeDelta;
use keyturn::db::{self, apps, secrets, users};
use keyturn::domain::{ClientId, ClientSecret};
use keyturn::infra::clock::Clock;
use rand::Rng;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: seed DATABASE_URL [APPS]"))?;
    let count: usize = args
        .next()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(10_000);
    let pool = db::connect_and_migrate(&path)?;
    let mut conn = pool.get()?;
    let now = Clock::system().now();
    let mut rng = rand::rng();
    db::write_transaction(&mut conn, |conn| {
        let owners: Vec<i32> = (0..500)
            .map(|n| {
                let email = format!("owner{n}@example.com");
                let user = users::NewUser {
                    email: &email,
                    password_hash: "seeded",
                    is_admin: false,
                    created_at: now,
                    email_verified_at: Some(now),
                };
                users::insert(conn, &user).map(|u| u.id)
            })
            .collect::<Result<_, _>>()?;
        for n in 0..count {
            let name = format!("Seeded app {n:05}");
            let client_id = ClientId::generate();
            let app = apps::insert(
                conn,
                &apps::NewApp {
                    owner_id: owners[n % owners.len()],
                    name: &name,
                    client_id: client_id.as_str(),
                    redirect_uris: "https://seeded.example/callback",
                    created_at: now - TimeDelta::days(120),
                    team_id: None,
                },
            )?;
            for _ in 0..rng.random_range(1..=2) {
                let secret = ClientSecret::generate();
                let row = secrets::insert(
                    conn,
                    &secrets::NewSecret {
                        app_id: app.id,
                        public_id: secret.public_id(),
                        secret_hash: "seeded",
                        hint: secret.hint().last_four(),
                        created_at: now - TimeDelta::days(rng.random_range(1..100)),
                        request_nonce: None,
                        label: if rng.random_bool(0.5) {
                            "production"
                        } else {
                            ""
                        },
                        created_by: None,
                        expires_at: None,
                        lifetime_ends_at: None,
                    },
                )?;
                if rng.random_bool(0.8) {
                    let used = now - TimeDelta::minutes(rng.random_range(1..90 * 24 * 60));
                    secrets::record_use(
                        conn,
                        row.app_id,
                        row.id,
                        used,
                        (Some("10.0.0.1"), Some("seed/1.0")),
                    )?;
                }
            }
            if rng.random_bool(0.1) {
                let oldest = secrets::list_for_app(conn, app.id)?[0].0.id;
                secrets::revoke(conn, oldest, now)?;
            }
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    println!("seeded {count} apps into {path}");
    Ok(())
}
