//! Fills a database for the benchmarks (bench/run):
//!
//!   seed DATABASE_URL [APPS]                 APPS apps (default 10,000) of 500 owners, two
//!                                            secrets each, last used anywhere in the past 90
//!                                            days or never, 10% with one revoked. Their hashes
//!                                            are placeholders: they fill the tables, they do not
//!                                            authenticate.
//!   seed DATABASE_URL --clients N FILE       N apps whose one secret works (bcrypt at
//!                                            KEYTURN_BCRYPT_COST, default 12) and was used
//!                                            before: Last Used set and, as the server stores it
//!                                            after a first use, the proof under the key derived
//!                                            from KEYTURN_SESSION_KEY. Writes one
//!                                            `client_id:secret` line per app to FILE.
//!
//! Rows go in a thousand at a time, so a million apps take a minute, not an hour.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use keyturn::db::schema::{apps, client_secrets};
use keyturn::db::{self, Conn};
use keyturn::domain::{ClientId, ClientSecret, SecretProofKey};
use keyturn::infra::clock::Clock;
use rand::Rng;
use std::io::Write;

const CHUNK: usize = 1000;

#[derive(Insertable)]
#[diesel(table_name = apps, treat_none_as_default_value = false)]
struct SeedApp {
    owner_id: i32,
    name: String,
    client_id: String,
    redirect_uris: &'static str,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = client_secrets, treat_none_as_default_value = false)]
struct SeedSecret {
    app_id: i32,
    public_id: String,
    secret_hash: String,
    hint: String,
    created_at: NaiveDateTime,
    label: &'static str,
    last_used_at: Option<NaiveDateTime>,
    first_used_at: Option<NaiveDateTime>,
    last_used_ip: Option<&'static str>,
    last_used_user_agent: Option<&'static str>,
    revoked_at: Option<NaiveDateTime>,
    proof: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        || anyhow::anyhow!("usage: seed DATABASE_URL [APPS] | seed DATABASE_URL --clients N FILE");
    let path = args.first().ok_or_else(usage)?;
    let pool = db::connect_and_migrate(path)?;
    let mut conn = pool.get()?;
    // PostgreSQL's row triggers (the review generation, the two-active-secrets check) cost more
    // than the inserts themselves: a million apps took a quarter of an hour. The seed writes
    // what they check, so it turns them off for its own session (a superuser may; others wait).
    if let Conn::Postgres(c) = &mut *conn {
        if let Err(e) = c.batch_execute("SET session_replication_role = replica") {
            eprintln!("row triggers stay on, seeding is slower: {e}");
        }
    }
    let now = Clock::system().now();
    seed(&mut conn, &args, now)?;
    // A database that has been in use has its planner statistics; a freshly filled one has none
    // until autovacuum gets to it, and the first minutes would be measured on guessed plans.
    if let Conn::Postgres(c) = &mut *conn {
        c.batch_execute("ANALYZE")?;
    }
    Ok(())
}

fn seed(conn: &mut Conn, args: &[String], now: NaiveDateTime) -> anyhow::Result<()> {
    let usage =
        || anyhow::anyhow!("usage: seed DATABASE_URL [APPS] | seed DATABASE_URL --clients N FILE");
    let path = &args[0];
    match args.get(1).map(String::as_str) {
        Some("--clients") => {
            let count: usize = args.get(2).ok_or_else(usage)?.parse()?;
            let file = args.get(3).ok_or_else(usage)?;
            clients(conn, count, file, now)?;
            println!("seeded {count} working clients into {path}, credentials in {file}");
        }
        count => {
            let count: usize = count.map(str::parse).transpose()?.unwrap_or(10_000);
            review(conn, count, now)?;
            // One change for the page caches to notice, as the triggers would have made.
            diesel::sql_query("UPDATE review_generation SET generation = generation + 1")
                .execute(conn)?;
            println!("seeded {count} apps into {path}");
        }
    }
    Ok(())
}

/// Apps to review: many, with secrets in every state.
fn review(conn: &mut Conn, count: usize, now: NaiveDateTime) -> anyhow::Result<()> {
    let owners = owners(conn, 500, now)?;
    let mut rng = rand::rng();
    for start in (0..count).step_by(CHUNK) {
        let new_apps: Vec<SeedApp> = (start..count.min(start + CHUNK))
            .map(|n| seed_app(owners[n % owners.len()], format!("Seeded app {n:07}"), now))
            .collect();
        let ids = insert_apps(conn, &new_apps)?;
        let mut new_secrets = Vec::with_capacity(ids.len() * 2);
        for app_id in ids {
            let revoked = rng.random_bool(0.1);
            for older in [true, false] {
                let secret = ClientSecret::generate();
                let created =
                    now - TimeDelta::days(rng.random_range(if older { 50..100 } else { 1..50 }));
                let used = rng
                    .random_bool(0.8)
                    .then(|| now - TimeDelta::minutes(rng.random_range(1..90 * 24 * 60)));
                new_secrets.push(SeedSecret {
                    app_id,
                    public_id: secret.public_id().to_owned(),
                    secret_hash: "seeded".to_owned(),
                    hint: secret.hint().last_four().to_owned(),
                    created_at: created,
                    label: if rng.random_bool(0.5) {
                        "production"
                    } else {
                        ""
                    },
                    last_used_at: used,
                    first_used_at: used,
                    last_used_ip: used.map(|_| "10.0.0.1"),
                    last_used_user_agent: used.map(|_| "seed/1.0"),
                    revoked_at: (revoked && older).then_some(now - TimeDelta::days(1)),
                    proof: None,
                });
            }
        }
        insert_secrets(conn, &new_secrets)?;
    }
    Ok(())
}

/// Apps whose secret works and was used, the state a server finds after a restart.
fn clients(conn: &mut Conn, count: usize, file: &str, now: NaiveDateTime) -> anyhow::Result<()> {
    let cost: u32 = std::env::var("KEYTURN_BCRYPT_COST").map_or(Ok(12), |c| c.parse())?;
    let key = std::env::var("KEYTURN_SESSION_KEY")
        .map_err(|_| anyhow::anyhow!("--clients needs KEYTURN_SESSION_KEY, the server's key"))?;
    // The master key exactly as the server derives it from KEYTURN_SESSION_KEY.
    let master = actix_web::cookie::Key::derive_from(key.as_bytes());
    let key = SecretProofKey::derive(master.master());
    let owner = owners(conn, 1, now)?[0];
    let secrets: Vec<ClientSecret> = (0..count).map(|_| ClientSecret::generate()).collect();
    let hashes = hash_all(&secrets, cost)?;
    let mut lines = std::io::BufWriter::new(std::fs::File::create(file)?);
    for (start, chunk) in secrets
        .chunks(CHUNK)
        .enumerate()
        .map(|(i, c)| (i * CHUNK, c))
    {
        let client_ids: Vec<ClientId> = chunk.iter().map(|_| ClientId::generate()).collect();
        let new_apps: Vec<SeedApp> = client_ids
            .iter()
            .enumerate()
            .map(|(i, id)| SeedApp {
                client_id: id.as_str().to_owned(),
                ..seed_app(owner, format!("Client {:05}", start + i), now)
            })
            .collect();
        let ids = insert_apps(conn, &new_apps)?;
        let used = now - TimeDelta::minutes(5);
        let rows: Vec<SeedSecret> = chunk
            .iter()
            .zip(&ids)
            .zip(&hashes[start..])
            .map(|((secret, &app_id), hash)| SeedSecret {
                app_id,
                public_id: secret.public_id().to_owned(),
                secret_hash: hash.clone(),
                hint: secret.hint().last_four().to_owned(),
                created_at: now - TimeDelta::days(1),
                label: "",
                last_used_at: Some(used),
                first_used_at: Some(used),
                last_used_ip: Some("10.0.0.1"),
                last_used_user_agent: Some("seed/1.0"),
                revoked_at: None,
                proof: None,
            })
            .collect();
        insert_secrets(conn, &rows)?;
        // The proof binds the row's id, known only now.
        let stored: Vec<(i32, String)> = client_secrets::table
            .filter(client_secrets::app_id.eq_any(&ids))
            .select((client_secrets::id, client_secrets::public_id))
            .load(conn)?;
        for (id, public_id) in stored {
            if let Some(secret) = chunk.iter().find(|s| s.public_id() == public_id) {
                diesel::update(client_secrets::table.find(id))
                    .set(client_secrets::proof.eq(key.prove(id, secret)))
                    .execute(conn)?;
            }
        }
        for (id, secret) in client_ids.iter().zip(chunk) {
            writeln!(lines, "{}:{}", id.as_str(), secret.expose())?;
        }
    }
    lines.flush()?;
    Ok(())
}

/// bcrypt hashes of every secret, on every core.
fn hash_all(secrets: &[ClientSecret], cost: u32) -> anyhow::Result<Vec<String>> {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let per_thread = secrets.len().div_ceil(cores).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = secrets
            .chunks(per_thread)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|s| bcrypt::hash(s.expose(), cost))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut hashes = Vec::with_capacity(secrets.len());
        for worker in workers {
            let part = worker
                .join()
                .map_err(|_| anyhow::anyhow!("a hashing thread panicked"))??;
            hashes.extend(part);
        }
        Ok(hashes)
    })
}

fn seed_app(owner_id: i32, name: String, now: NaiveDateTime) -> SeedApp {
    SeedApp {
        owner_id,
        name,
        client_id: ClientId::generate().as_str().to_owned(),
        redirect_uris: "https://seeded.example/callback",
        created_at: now - TimeDelta::days(120),
    }
}

fn owners(conn: &mut Conn, count: usize, now: NaiveDateTime) -> anyhow::Result<Vec<i32>> {
    let run = rand::random::<u32>();
    (0..count)
        .map(|n| {
            let email = format!("owner{n}.{run}@example.com");
            let user = db::users::NewUser {
                email: &email,
                password_hash: "seeded",
                is_admin: false,
                created_at: now,
                email_verified_at: Some(now),
            };
            Ok(db::users::insert(conn, &user)?.id)
        })
        .collect()
}

fn insert_apps(conn: &mut Conn, rows: &[SeedApp]) -> anyhow::Result<Vec<i32>> {
    Ok(match conn {
        Conn::Sqlite(c) => diesel::insert_into(apps::table)
            .values(rows)
            .returning(apps::id)
            .get_results(c)?,
        Conn::Postgres(c) => diesel::insert_into(apps::table)
            .values(rows)
            .returning(apps::id)
            .get_results(c)?,
    })
}

fn insert_secrets(conn: &mut Conn, rows: &[SeedSecret]) -> anyhow::Result<()> {
    match conn {
        Conn::Sqlite(c) => diesel::insert_into(client_secrets::table)
            .values(rows)
            .execute(c)?,
        Conn::Postgres(c) => diesel::insert_into(client_secrets::table)
            .values(rows)
            .execute(c)?,
    };
    Ok(())
}
