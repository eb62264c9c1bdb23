//! bcrypt for passwords (and, through the same helpers, client secrets). Hashing and verifying
//! run on their own threads, one per core: at cost 12 one call is a quarter of a second of CPU,
//! and on the blocking pool a burst of logins would hold every thread that database queries
//! need. More bcrypt threads than cores would not finish the queue any sooner.

use anyhow::{anyhow, Context};
use std::sync::{mpsc, Mutex, OnceLock};

type Work = Box<dyn FnOnce() + Send>;

/// Runs `work` on a bcrypt thread and waits for it without blocking the async worker.
async fn on_bcrypt_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    static QUEUE: OnceLock<mpsc::Sender<Work>> = OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        let (sender, receiver) = mpsc::channel::<Work>();
        let receiver = std::sync::Arc::new(Mutex::new(receiver));
        let threads = std::thread::available_parallelism().map_or(2, usize::from);
        for n in 0..threads {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("keyturn-bcrypt-{n}"))
                .spawn(move || loop {
                    let next = receiver.lock().map(|queue| queue.recv());
                    match next {
                        // A panicking job must not take the thread with it.
                        Ok(Ok(work)) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
                        }
                        _ => return,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a bcrypt thread");
            }
        }
        sender
    });
    let (reply, answer) = tokio::sync::oneshot::channel();
    let job: Work = Box::new(move || {
        let _ = reply.send(work());
    });
    queue
        .send(job)
        .map_err(|_| anyhow!("the bcrypt threads have stopped"))?;
    answer.await.map_err(|_| anyhow!("a bcrypt task failed"))
}

/// bcrypt reads at most 72 bytes; longer inputs are refused, never truncated.
pub const MAX_BYTES: usize = 72;

/// Hashes `plaintext` off the async workers. Callers pass at most [`MAX_BYTES`] (the domain
/// types guarantee it); longer input is an error here too.
pub async fn hash(plaintext: String, cost: u32) -> anyhow::Result<String> {
    if plaintext.len() > MAX_BYTES {
        return Err(anyhow!("refusing to hash more than {MAX_BYTES} bytes"));
    }
    let plaintext = zeroize::Zeroizing::new(plaintext);
    on_bcrypt_thread(move || bcrypt::hash(plaintext.as_bytes(), cost))
        .await?
        .context("hashing with bcrypt")
}

/// Checks `plaintext` against `stored`. When there is no stored hash (unknown account) a dummy
/// hash of the same cost is checked instead, so the answer takes as long either way and timing
/// does not reveal which accounts exist.
pub async fn verify(plaintext: String, stored: Option<String>, cost: u32) -> anyhow::Result<bool> {
    let plaintext = zeroize::Zeroizing::new(plaintext);
    on_bcrypt_thread(move || {
        // Input over 72 bytes never matches (bcrypt would compare only its first 72 bytes), but
        // still costs one verification so that its answer takes as long as any other.
        let acceptable = stored.is_some() && plaintext.len() <= MAX_BYTES;
        let hash = match stored {
            Some(hash) if acceptable => hash,
            _ => dummy_hash(cost)?,
        };
        // bcrypt compares the hashes in constant time.
        let matches = bcrypt::verify(plaintext.as_bytes(), &hash).unwrap_or(false);
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
