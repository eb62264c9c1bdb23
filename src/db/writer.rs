//! Group commit for the hot write path. One thread owns a connection and runs queued jobs in
//! batches, one `BEGIN IMMEDIATE` ... `COMMIT` per batch, each job inside its own savepoint.
//!
//! Why: SQLite has one writer at a time. Eight pooled connections competing for the write lock
//! spend their time in SQLite's busy handler, which sleeps for milliseconds; one writer that
//! commits many small writes together does not wait at all, and a commit is paid once per batch.
//! A job's answer is sent only after its batch committed, so nobody is told "done" for a write
//! that could still be lost; if the commit fails, every job of the batch gets the error.

use super::{Conn, DbPool};
use anyhow::anyhow;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::Connection;
use std::sync::mpsc;

/// Sends a job's outcome once its batch has committed (`true`) or failed (`false`).
type Completion = Box<dyn FnOnce(bool) + Send>;
type Job = Box<dyn FnOnce(&mut Conn) -> Completion + Send>;

const MAX_BATCH: usize = 512;

#[derive(Debug, Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread on a connection from `pool`.
    pub fn start(pool: DbPool) -> anyhow::Result<Writer> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("keyturn-writer".into())
            .spawn(move || write_loop(&pool, &queue))?;
        Ok(Writer { jobs })
    }

    /// Runs `work` in the next batch and returns its result once the batch committed.
    pub async fn run<T, F>(&self, work: F) -> anyhow::Result<T>
    where
        F: FnOnce(&mut Conn) -> anyhow::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        // A savepoint per job: one failing job does not undo the others.
        self.submit(move |conn| {
            conn.transaction(|conn| work(conn).map_err(JobError))
                .map_err(|JobError(e)| e)
        })
        .await
    }

    /// Runs a read-only `work` in the next batch, without the savepoint a write needs. Reading on
    /// the writer orders the read after every write that has already answered.
    pub async fn read<T, F>(&self, work: F) -> anyhow::Result<T>
    where
        F: FnOnce(&mut Conn) -> anyhow::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.submit(work).await
    }

    async fn submit<T, F>(&self, work: F) -> anyhow::Result<T>
    where
        F: FnOnce(&mut Conn) -> anyhow::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn: &mut Conn| {
            let result = work(conn);
            Box::new(move |committed: bool| {
                let outcome = match (committed, result) {
                    (true, result) => result,
                    (false, _) => Err(anyhow!("the batch could not be committed")),
                };
                let _ = reply.send(outcome);
            })
        });
        self.jobs
            .send(job)
            .map_err(|_| anyhow!("the database writer has stopped"))?;
        answer
            .await
            .map_err(|_| anyhow!("the database writer dropped a job"))?
    }
}

/// Carries a job's own error through Diesel's transaction, which wants `From<diesel::Error>`.
struct JobError(anyhow::Error);

impl From<diesel::result::Error> for JobError {
    fn from(e: diesel::result::Error) -> Self {
        JobError(e.into())
    }
}

fn write_loop(pool: &DbPool, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let Ok(mut conn) = pool.get() else {
            tracing::error!("the database writer could not get a connection");
            continue; // dropping the jobs tells their callers
        };
        if let Err(e) = AnsiTransactionManager::begin_transaction_sql(&mut *conn, "BEGIN IMMEDIATE")
        {
            tracing::error!(error = %e, "the database writer could not begin a batch");
            continue;
        }
        let completions: Vec<Completion> = batch.into_iter().map(|job| job(&mut conn)).collect();
        let committed =
            match <AnsiTransactionManager as TransactionManager<Conn>>::commit_transaction(
                &mut conn,
            ) {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!(error = %e, "the database writer could not commit a batch");
                    let _ =
                        <AnsiTransactionManager as TransactionManager<Conn>>::rollback_transaction(
                            &mut conn,
                        );
                    false
                }
            };
        completions
            .into_iter()
            .for_each(|complete| complete(committed));
    }
}
