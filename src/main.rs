use keyturn::config::Settings;
use keyturn::db;
use keyturn::domain::{Email, Password};
use keyturn::infra::clock::Clock;
use keyturn::infra::telemetry;
use keyturn::service::{accounts, two_factor};
use keyturn::startup::{self, Application};
use std::io::BufRead;
use std::process::ExitCode;

/// Many small allocations per request (headers, rows, rendered pages): mimalloc serves them
/// with less contention between the worker threads than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: keyturn [serve]\n       keyturn migrate\n       keyturn create-admin --email EMAIL   (password on the first line of stdin)\n       keyturn turn-off-two-factor --email EMAIL   (for an account that lost every second factor)\n       keyturn rotate-signing-key   (a new ID token signing key, signing after KEYTURN_SIGNING_KEY_PUBLISH_AHEAD)";

#[actix_web::main]
async fn main() -> ExitCode {
    telemetry::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] | ["serve"] => serve().await,
        ["migrate"] => migrate().await,
        ["create-admin", "--email", email] => create_admin(email).await,
        ["turn-off-two-factor", "--email", email] => turn_off_two_factor(email).await,
        ["rotate-signing-key"] => rotate_signing_key().await,
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    Application::build(settings)
        .await?
        .run_until_stopped()
        .await?;
    Ok(())
}

/// Applies pending migrations and says which, for deployments that migrate as a release step.
async fn migrate() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let database_url = settings.database_url.clone();
    let busy_timeout = settings.database_busy_timeout_ms;
    let applied = actix_web::web::block(move || {
        let pool = db::connect(database_url.as_str(), busy_timeout, None)?;
        db::migrate(&pool)
    })
    .await??;
    for name in &applied {
        println!("applied {name}");
    }
    match applied.len() {
        0 => println!("The database is up to date."),
        n => println!("{n} migration(s) applied."),
    }
    Ok(())
}

async fn create_admin(email: &str) -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let email = Email::parse(email).map_err(anyhow::Error::msg)?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = Password::parse(line.trim_end_matches(['\r', '\n']).to_owned().into())
        .map_err(anyhow::Error::msg)?;
    let database_url = settings.database_url.clone();
    let pool =
        actix_web::web::block(move || db::connect_and_migrate(database_url.as_str())).await??;
    let account = accounts::create_admin(
        &pool,
        &keyturn::infra::hashing::Bcrypt::new(settings.bcrypt_cost),
        email,
        password,
        Clock::system().now(),
    )
    .await?;
    println!("{} is now an admin.", account.email);
    Ok(())
}

/// Turns off two-factor authentication of an account whose owner lost every factor (after the
/// operator has checked who is asking) and ends its sessions.
async fn turn_off_two_factor(email: &str) -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let email = Email::parse(email).map_err(anyhow::Error::msg)?;
    let database_url = settings.database_url.clone();
    let pool =
        actix_web::web::block(move || db::connect_and_migrate(database_url.as_str())).await??;
    let shown = email.as_str().to_owned();
    if two_factor::turn_off_by_operator(&pool, email, Clock::system().now()).await? {
        println!("Two-factor authentication of {shown} is off; every session of it has ended.");
        Ok(())
    } else {
        anyhow::bail!("no account has the address {shown}")
    }
}

/// Adds a new ID token signing key: published at /oauth/jwks at once, signing once
/// KEYTURN_SIGNING_KEY_PUBLISH_AHEAD has passed.
async fn rotate_signing_key() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let rotated = startup::rotate_signing_key(&settings, &Clock::system()).await?;
    println!(
        "Added signing key {}: published now, signing ID tokens from {} UTC.",
        rotated.kid,
        rotated.signs_from.format("%Y-%m-%d %H:%M:%S")
    );
    Ok(())
}
