//! Group commit for the hot path. One thread owns a connection and runs queued jobs in batches,
//! one write transaction (`BEGIN IMMEDIATE` on SQLite) per batch.
//!
//! Why: SQLite has one writer at a time. Pooled connections competing for the write lock spend
//! their time in SQLite's busy handler, which sleeps for milliseconds; one writer that commits
//! many small writes together never waits, and pays for a commit once per batch. Reads that
//! must be ordered after every write that has answered (a secret's status) run here too on
//! SQLite; on PostgreSQL they go to the pool (`Writer::read`).
//!
//! A job's answer is sent only after its batch committed, so nobody is told "done" for a write
//! that could still be lost. Jobs return domain outcomes as values and use `Err` only for
//! database failures, which are exceptional: a failing job rolls back its whole batch and every
//! job of the batch is told it failed (never a partial success). That is cheaper than a
//! savepoint around every job.

use super::{Backend, Conn, DbPool};
use crate::infra::metrics::Metrics;
use anyhow::anyhow;
use diesel::connection::{SimpleConnection, TransactionManager};
use prometheus::{Histogram, IntGauge};
use std::sync::mpsc;

/// Sends a job's outcome once its batch has committed (`true`) or failed (`false`).
type Completion = Box<dyn FnOnce(bool) + Send>;
/// Runs against the batch's connection; says whether it succeeded, and how to answer.
type Job = Box<dyn FnOnce(&mut Conn) -> (bool, Completion) + Send>;

const MAX_BATCH: usize = 512;

#[derive(Debug, Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
    /// Jobs queued and not yet taken into a batch.
    queue_depth: IntGauge,
    /// On PostgreSQL, where reads go straight to the pool (see [`Writer::read`]).
    direct_reads: Option<DbPool>,
}

impl Writer {
    /// Starts the writer thread on a connection from `pool`, a pool of `backend` connections;
    /// batch sizes and the queue's depth go to `metrics`.
    pub fn start(pool: DbPool, backend: Backend, metrics: &Metrics) -> anyhow::Result<Writer> {
        let queue_depth = metrics.writer_queue_depth.clone();
        let (depth, batch_sizes) = (queue_depth.clone(), metrics.writer_batch_size.clone());
        let direct_reads = (backend == Backend::Postgres).then(|| pool.clone());
        let (jobs, queue) = mpsc::channel::<Job>();
        // The writer thread holds `running` until it stops, and the checkpoint thread stops
        // with it: neither outlives the server (one process can run many servers: the tests do).
        let (running, writer_running) = mpsc::channel::<()>();
        if backend == Backend::Sqlite {
            let checkpoints = pool.clone();
            std::thread::Builder::new()
                .name("keyturn-checkpoint".into())
                .spawn(move || checkpoint_loop(&checkpoints, &writer_running))?;
        }
        std::thread::Builder::new()
            .name("keyturn-writer".into())
            .spawn(move || {
                write_loop(&pool, &queue, &depth, &batch_sizes);
                drop(running);
            })?;
        Ok(Writer {
            jobs,
            queue_depth,
            direct_reads,
        })
    }

    /// Runs a read that must see every write that has answered (a secret's status).
    ///
    /// SQLite: on the writer thread, which costs one hop instead of a thread-pool one. PostgreSQL:
    /// on a pooled connection, in parallel, because there every query is a round trip to the
    /// server and one thread would run them one at a time; any committed write is visible to
    /// the next statement on any connection.
    pub async fn read<T, F>(&self, work: F) -> anyhow::Result<T>
    where
        F: FnOnce(&mut Conn) -> anyhow::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        match &self.direct_reads {
            Some(pool) => super::run(pool, work).await,
            None => self.run(work).await,
        }
    }

    /// Runs work made of statements that may each commit on their own (a conditional insert,
    /// a conditional update). SQLite: in the next batch, on the one writer. PostgreSQL: on a
    /// pooled connection, outside any transaction, so each statement's row locks last that
    /// statement only and can never deadlock with another instance's batch.
    pub async fn run_statements<T, F>(&self, work: F) -> anyhow::Result<T>
    where
        F: FnOnce(&mut Conn) -> anyhow::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.read(work).await
    }

    /// Runs `work` in the next batch and returns its result once the batch committed.
    pub async fn run<T, F>(&self, work: F) -> anyhow::Result<T>
    where
        F: FnOnce(&mut Conn) -> anyhow::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.submit(work, move |outcome| {
            let _ = reply.send(outcome);
        })?;
        answer
            .await
            .map_err(|_| anyhow!("the database writer dropped a job"))?
    }

    /// As [`Writer::run`], for threads outside the async runtime (maintenance).
    pub fn run_blocking<T, F>(&self, work: F) -> anyhow::Result<T>
    where
        F: FnOnce(&mut Conn) -> anyhow::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = mpsc::channel();
        self.submit(work, move |outcome| {
            let _ = reply.send(outcome);
        })?;
        answer
            .recv()
            .map_err(|_| anyhow!("the database writer dropped a job"))?
    }

    /// Queues `work`; `answer` receives its result once the batch committed, or the failure.
    fn submit<T, F, A>(&self, work: F, answer: A) -> anyhow::Result<()>
    where
        F: FnOnce(&mut Conn) -> anyhow::Result<T> + Send + 'static,
        A: FnOnce(anyhow::Result<T>) + Send + 'static,
        T: Send + 'static,
    {
        let job: Job = Box::new(move |conn: &mut Conn| {
            let result = work(conn);
            let succeeded = result.is_ok();
            let complete: Completion = Box::new(move |committed| {
                answer(if committed {
                    result
                } else {
                    Err(anyhow!("the batch could not be committed"))
                });
            });
            (succeeded, complete)
        });
        self.queue_depth.inc();
        self.jobs.send(job).map_err(|_| {
            self.queue_depth.dec();
            anyhow!("the database writer has stopped")
        })
    }
}

/// Copies the write-ahead log back into the database once a second, on its own thread, so the
/// writer never pays for it. PASSIVE: it never blocks the writer or readers. Ends when the
/// writer thread ends.
fn checkpoint_loop(pool: &DbPool, writer_running: &mpsc::Receiver<()>) {
    let second = std::time::Duration::from_secs(1);
    while let Err(mpsc::RecvTimeoutError::Timeout) = writer_running.recv_timeout(second) {
        if let Ok(mut conn) = pool.get() {
            if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    }
}

fn write_loop(
    pool: &DbPool,
    queue: &mpsc::Receiver<Job>,
    depth: &IntGauge,
    batch_sizes: &Histogram,
) {
    // The writer keeps one connection; it is replaced only if it fails.
    let mut held: Option<super::PooledConn> = None;
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        depth.sub(batch.len() as i64);
        batch_sizes.observe(batch.len() as f64);
        let conn = match held.take() {
            Some(conn) => conn,
            None => match pool.get() {
                Ok(mut conn) => {
                    // Checkpoints happen on their own thread (see `checkpoint_loop`); a bigger
                    // page cache keeps the token indexes in memory instead of re-reading them.
                    if let Conn::Sqlite(sqlite) = &mut *conn {
                        let _ = sqlite.batch_execute(
                            "PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -16000;",
                        );
                    }
                    conn
                }
                Err(e) => {
                    // Dropping the jobs tells their callers.
                    tracing::error!(error = %e, "the database writer could not get a connection");
                    continue;
                }
            },
        };
        let mut conn = conn;
        if let Err(e) = super::begin_batch(&mut conn) {
            tracing::error!(error = %e, "the database writer could not begin a batch");
            continue;
        }
        let mut all_succeeded = true;
        let mut completions = Vec::with_capacity(batch.len());
        for job in batch {
            let (succeeded, complete) = job(&mut conn);
            all_succeeded &= succeeded;
            completions.push(complete);
        }
        let committed = all_succeeded && commit(&mut conn);
        if !committed {
            let _ = <Conn as TransactionManager<Conn>>::rollback_transaction(&mut conn);
        }
        completions
            .into_iter()
            .for_each(|complete| complete(committed));
        held = Some(conn);
    }
}

fn commit(conn: &mut Conn) -> bool {
    match <Conn as TransactionManager<Conn>>::commit_transaction(conn) {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "the database writer could not commit a batch");
            false
        }
    }
}
