//! bcrypt for passwords (and, through the same helpers, client secrets). Hashing and verifying
//! run on threads of their own: at cost 12 one call is a quarter of a second of CPU, and on the
//! blocking pool a burst of logins would hold every thread that database queries need.
//!
//! Two lanes, each with a bounded queue, so that nobody can make the others wait without limit:
//! - [`Lane::Interactive`]: log-in, client authentication, and the hashing signed-in people ask
//!   for (a new secret, a new password). One thread per core.
//! - [`Lane::SignUp`]: the hash of a new account, the one bcrypt anyone can trigger without
//!   proving anything. Fewer threads, a short queue: a flood of sign-ups keeps a core at most and
//!   is answered 503 once its queue is full, while log-ins and clients go on in their own lane.
//!
//! A full queue is an error ([`Busy`]) answered at once with 503 and `Retry-After`, never an
//! unbounded wait.

use super::metrics::Metrics;
use anyhow::{anyhow, Context};
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, OnceLock};

type Work = Box<dyn FnOnce() + Send>;

/// Which queue a bcrypt call waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Interactive,
    SignUp,
}

/// The lane's queue is full: try again shortly. Travels inside `anyhow::Error`; the error
/// responses of every surface turn it into 503 with `Retry-After`.
#[derive(Debug, thiserror::Error)]
#[error("the bcrypt queue is full")]
pub struct Busy;

/// Seconds a client is asked to wait after [`Busy`].
pub const BUSY_RETRY_AFTER: u32 = 1;

/// Whether `error` is (or wraps) [`Busy`].
pub fn is_busy(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.is::<Busy>())
}

struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
    capacity: usize,
}

#[derive(Default)]
struct QueueState {
    jobs: VecDeque<Work>,
    /// Set when the server that owns the queue is gone: its threads end.
    closed: bool,
}

impl Queue {
    fn start(name: &str, threads: usize, capacity: usize) -> Arc<Queue> {
        let queue = Arc::new(Queue {
            state: Mutex::default(),
            ready: Condvar::new(),
            capacity,
        });
        for n in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("keyturn-bcrypt-{name}-{n}"))
                .spawn(move || queue.serve());
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a bcrypt thread");
            }
        }
        queue
    }

    fn serve(&self) {
        loop {
            let work = {
                let Ok(mut state) = self.state.lock() else {
                    return;
                };
                loop {
                    if let Some(work) = state.jobs.pop_front() {
                        break work;
                    }
                    if state.closed {
                        return;
                    }
                    state = match self.ready.wait(state) {
                        Ok(state) => state,
                        Err(_) => return,
                    };
                }
            };
            // A panicking job must not take the thread with it.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
        }
    }

    fn push(&self, work: Work) -> anyhow::Result<()> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| anyhow!("the bcrypt queue is poisoned"))?;
        if state.jobs.len() >= self.capacity {
            return Err(Busy.into());
        }
        state.jobs.push_back(work);
        self.ready.notify_one();
        Ok(())
    }

    fn close(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.closed = true;
        }
        self.ready.notify_all();
    }
}

/// The bcrypt work factor and the two lanes' threads, one set per server. Cloning shares them;
/// when the last clone goes, the threads finish their queues and end.
#[derive(Clone)]
pub struct Bcrypt {
    pub cost: u32,
    lanes: Arc<Lanes>,
    /// Where verifications are counted and timed, when the server keeps metrics.
    metrics: Option<Arc<Metrics>>,
}

struct Lanes {
    interactive: Arc<Queue>,
    sign_up: Arc<Queue>,
}

impl Drop for Lanes {
    fn drop(&mut self) {
        self.interactive.close();
        self.sign_up.close();
    }
}

impl std::fmt::Debug for Bcrypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bcrypt").field("cost", &self.cost).finish()
    }
}

impl Bcrypt {
    pub fn new(cost: u32) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Bcrypt {
            cost,
            lanes: Arc::new(Lanes {
                // Deep enough for a burst of clients after a restart; bounded, so a flood is
                // told to come back instead of waiting without limit.
                interactive: Queue::start("i", cores, 256 * cores),
                // Half the cores (at least one), and a queue a few seconds long at cost 12.
                sign_up: Queue::start("s", (cores / 2).max(1), 8),
            }),
            metrics: None,
        }
    }

    /// Counts and times every verification in `metrics`.
    pub fn observed(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Runs `work` in `lane` and waits for it without blocking the async worker.
    async fn run<T: Send + 'static>(
        &self,
        lane: Lane,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let queue = match lane {
            Lane::Interactive => &self.lanes.interactive,
            Lane::SignUp => &self.lanes.sign_up,
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        queue.push(Box::new(move || {
            let _ = reply.send(work());
        }))?;
        answer.await.map_err(|_| anyhow!("a bcrypt task failed"))
    }
}

/// bcrypt reads at most 72 bytes; longer inputs are refused, never truncated.
pub const MAX_BYTES: usize = 72;

/// Hashes `plaintext` off the async workers. Callers pass at most [`MAX_BYTES`] (the domain
/// types guarantee it); longer input is an error here too.
pub async fn hash(workers: &Bcrypt, plaintext: String, lane: Lane) -> anyhow::Result<String> {
    let cost = workers.cost;
    if plaintext.len() > MAX_BYTES {
        return Err(anyhow!("refusing to hash more than {MAX_BYTES} bytes"));
    }
    let plaintext = zeroize::Zeroizing::new(plaintext);
    workers
        .run(lane, move || bcrypt::hash(plaintext.as_bytes(), cost))
        .await?
        .context("hashing with bcrypt")
}

/// Checks `plaintext` against `stored`. When there is no stored hash (unknown account) a dummy
/// hash of the same cost is checked instead, so the answer takes as long either way and timing
/// does not reveal which accounts exist.
pub async fn verify(
    workers: &Bcrypt,
    plaintext: String,
    stored: Option<String>,
) -> anyhow::Result<bool> {
    let cost = workers.cost;
    let plaintext = zeroize::Zeroizing::new(plaintext);
    let metrics = workers.metrics.clone();
    workers
        .run(Lane::Interactive, move || {
            let started = std::time::Instant::now();
            // Input over 72 bytes never matches (bcrypt would compare only its first 72 bytes), but
            // still costs one verification so that its answer takes as long as any other.
            let acceptable = stored.is_some() && plaintext.len() <= MAX_BYTES;
            let hash = match stored {
                Some(hash) if acceptable => hash,
                _ => dummy_hash(cost)?,
            };
            // bcrypt compares the hashes in constant time.
            let matches = bcrypt::verify(plaintext.as_bytes(), &hash).unwrap_or(false);
            if let Some(metrics) = metrics {
                metrics
                    .bcrypt_seconds
                    .observe(started.elapsed().as_secs_f64());
                let result = if acceptable && matches {
                    "accepted"
                } else {
                    "rejected"
                };
                metrics
                    .bcrypt_verifications
                    .with_label_values(&[result])
                    .inc();
            }
            Ok(acceptable && matches)
        })
        .await?
}

fn dummy_hash(cost: u32) -> anyhow::Result<String> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash.clone());
    }
    let hash =
        bcrypt::hash(crate::domain::random_base62(32), cost).context("making the dummy hash")?;
    Ok(DUMMY.get_or_init(|| hash).clone())
}
