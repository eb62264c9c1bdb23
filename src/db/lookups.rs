//! Client authentication's lookup on PostgreSQL, batched: requests that arrive together are
//! answered by one query (`public_id = ANY($1)`, a prepared statement), on connections these
//! threads hold, instead of a query and a pool checkout each.
//!
//! Why: on PostgreSQL every query is a round trip, and the server's work per statement (not per
//! row) is most of its cost; under load, 64 lookups in one statement cost about what one does.
//! A lookup still sees every write that has answered before it was asked: its query starts
//! after it was queued. SQLite needs none of this (its reads run on the writer, in process).

use super::secrets::{self, SecretRow};
use super::{DbPool, PooledConn};
use anyhow::anyhow;
use chrono::NaiveDateTime;
use std::sync::{mpsc, Arc, Mutex};

/// A secret found for authentication: its row, its app's client id, and the first use of the
/// newer secret it waits for (revoke when quiet).
pub type FoundSecret = (SecretRow, String, Option<NaiveDateTime>);
type Reply = tokio::sync::oneshot::Sender<anyhow::Result<Option<FoundSecret>>>;

/// At most this many lookups in one query.
const MAX_BATCH: usize = 256;

#[derive(Debug, Clone)]
pub struct SecretLookups {
    requests: mpsc::Sender<(String, Reply)>,
}

impl SecretLookups {
    /// Starts `threads` lookup threads, each holding a connection from `pool` while it works:
    /// while one waits for its query, the next batch gathers on another. They end when the
    /// last `SecretLookups` is dropped.
    pub fn start(pool: DbPool, threads: usize) -> anyhow::Result<Self> {
        let (requests, queue) = mpsc::channel();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let (pool, queue) = (pool.clone(), queue.clone());
            std::thread::Builder::new()
                .name(format!("keyturn-lookups-{n}"))
                .spawn(move || lookup_loop(&pool, &queue))?;
        }
        Ok(SecretLookups { requests })
    }

    /// The secret whose public id is `public_id`, with what authentication needs.
    pub async fn find(&self, public_id: String) -> anyhow::Result<Option<FoundSecret>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.requests
            .send((public_id, reply))
            .map_err(|_| anyhow!("the secret lookup threads have stopped"))?;
        answer
            .await
            .map_err(|_| anyhow!("a secret lookup was dropped"))?
    }
}

fn lookup_loop(pool: &DbPool, queue: &Mutex<mpsc::Receiver<(String, Reply)>>) {
    // Replaced only when a query fails: the connection may be the reason.
    let mut held: Option<PooledConn> = None;
    loop {
        let batch = {
            let Ok(queue) = queue.lock() else {
                return;
            };
            let Ok(first) = queue.recv() else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(lookup) => batch.push(lookup),
                    Err(_) => break,
                }
            }
            batch
        };
        let mut conn = match held.take() {
            Some(conn) => conn,
            None => match pool.get() {
                Ok(conn) => conn,
                Err(e) => {
                    fail(batch, &format!("getting a database connection: {e}"));
                    continue;
                }
            },
        };
        let ids: Vec<&str> = batch.iter().map(|(id, _)| id.as_str()).collect();
        match secrets::find_many_for_authentication(&mut conn, &ids) {
            Ok(found) => {
                held = Some(conn);
                for (id, reply) in batch {
                    let row = found.iter().find(|(row, ..)| row.public_id == id).cloned();
                    let _ = reply.send(Ok(row));
                }
            }
            Err(e) => fail(batch, &format!("looking up client secrets: {e}")),
        }
    }
}

fn fail(batch: Vec<(String, Reply)>, why: &str) {
    for (_, reply) in batch {
        let _ = reply.send(Err(anyhow!("{why}")));
    }
}
