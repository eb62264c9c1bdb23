//! The first token request of every client, as after a restart (bench/run):
//! `first_requests BASE_URL CREDENTIALS_FILE [CONCURRENCY]` sends one client_credentials request
//! per `client_id:secret` line of the file, CONCURRENCY (default 64) at a time, and prints how
//! long all of them took and how many were answered 200.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || anyhow::anyhow!("usage: first_requests BASE_URL CREDENTIALS_FILE [CONCURRENCY]");
    let base = args
        .first()
        .ok_or_else(usage)?
        .trim_end_matches('/')
        .to_owned();
    let lines = std::fs::read_to_string(args.get(1).ok_or_else(usage)?)?;
    let concurrency: usize = args.get(2).map_or(Ok(64), |n| n.parse())?;
    let clients: Vec<(String, String)> = lines
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(id, secret)| (id.to_owned(), secret.to_owned()))
        .collect();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let queue = Arc::new(std::sync::Mutex::new(clients.clone()));
    let answered = Arc::new(AtomicUsize::new(0));
    let started = std::time::Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, queue, answered, url) = (
                http.clone(),
                queue.clone(),
                answered.clone(),
                format!("{base}/oauth/token"),
            );
            tokio::spawn(async move {
                loop {
                    let next = queue.lock().ok().and_then(|mut q| q.pop());
                    let Some((id, secret)) = next else { return };
                    let response = http
                        .post(&url)
                        .basic_auth(&id, Some(&secret))
                        .form(&[("grant_type", "client_credentials")])
                        .send()
                        .await;
                    if response.is_ok_and(|r| r.status() == reqwest::StatusCode::OK) {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await?;
    }
    println!(
        "{} of {} clients answered 200 in {:.2} s ({concurrency} at a time)",
        answered.load(Ordering::Relaxed),
        clients.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
