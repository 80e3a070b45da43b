//! Where photo work runs: a few threads of its own with a bounded wait queue, never actix's
//! blocking pool. That pool is where every database request waits its turn (one thread per
//! worker on SQLite), and eight uploads of a 99-scan progressive JPEG decoding there took
//! another user's `GET /me/eligibility` from 1 ms to 3.1 s (p50). Here a photo waits for a
//! photo thread, and when the threads and the queue are all taken the upload is refused at
//! once (503 `busy` with `Retry-After`) instead of queueing without bound.
//!
//! Admission is a semaphore (tokio's, already a dependency) with one permit per thread and per
//! queue place, taken without waiting when the work is handed in and given back when the work
//! ends, even if its caller has gone. The threads themselves are plain `std` threads over a
//! channel: the semaphore already bounds what the channel can hold.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

/// How long a refused caller is told to wait: a photo takes milliseconds to a second.
pub const RETRY_AFTER_SECS: u64 = 1;

type Job = Box<dyn FnOnce() + Send>;

/// The photo pool. Cheap to clone; the threads end when the last clone is dropped.
#[derive(Clone)]
pub struct PhotoPool {
    admission: Arc<Semaphore>,
    jobs: mpsc::Sender<Job>,
    threads: usize,
    queue: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// Every thread is working and the queue is full.
    #[error("the photo pool and its queue are full")]
    Busy,
    /// The work panicked (a decoder bug): the thread survives, the caller gets this.
    #[error("the photo work failed")]
    Failed,
}

impl PhotoPool {
    /// Starts `threads` photo threads (at least one) that take work from a queue of at most
    /// `queue` waiting items.
    pub fn start(threads: usize, queue: usize) -> std::io::Result<PhotoPool> {
        let threads = threads.max(1);
        let (jobs, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("photo-{i}"))
                .spawn(move || loop {
                    let next = receiver
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .recv();
                    let Ok(job) = next else { break };
                    job();
                })?;
        }
        Ok(PhotoPool {
            admission: Arc::new(Semaphore::new(threads + queue)),
            jobs,
            threads,
            queue,
        })
    }

    /// Hands `work` to the pool, or refuses it at once when the threads and the queue are all
    /// taken. The returned future gives the result; dropping it does not stop the work, which
    /// keeps its place until it ends.
    pub fn submit<T, F>(&self, work: F) -> Result<PhotoJob<T>, PoolError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = self
            .admission
            .clone()
            .try_acquire_owned()
            .map_err(|_| PoolError::Busy)?;
        let (answer, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let outcome = catch_unwind(AssertUnwindSafe(work));
            // The place is free before the caller hears back, so that the caller can hand in
            // its next work at once. A panic (a decoder bug) drops the answer instead: the
            // caller gets `PoolError::Failed`, and the thread lives on.
            drop::<OwnedSemaphorePermit>(permit);
            if let Ok(value) = outcome {
                let _ = answer.send(value);
            }
        });
        self.jobs.send(job).map_err(|_| PoolError::Failed)?;
        Ok(PhotoJob { result })
    }

    /// [`PhotoPool::submit`] and wait for the result.
    pub async fn run<T, F>(&self, work: F) -> Result<T, PoolError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit(work)?.await
    }

    /// Threads and queue places not taken now.
    pub fn free_places(&self) -> usize {
        self.admission.available_permits()
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    pub fn queue(&self) -> usize {
        self.queue
    }
}

/// The result of work handed to the pool.
pub struct PhotoJob<T> {
    result: oneshot::Receiver<T>,
}

impl<T> Future for PhotoJob<T> {
    type Output = Result<T, PoolError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.result)
            .poll(cx)
            .map(|r| r.map_err(|_| PoolError::Failed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::sync_channel;

    fn block_on<F: Future>(f: F) -> F::Output {
        actix_web::rt::System::new().block_on(f)
    }

    /// Work that holds its place until told to finish, and says when it has started.
    fn held(pool: &PhotoPool) -> (PhotoJob<u32>, mpsc::SyncSender<()>, mpsc::Receiver<()>) {
        let (release, wait) = sync_channel::<()>(1);
        let (started_tx, started) = sync_channel::<()>(1);
        let job = pool
            .submit(move || {
                let _ = started_tx.send(());
                let _ = wait.recv();
                7
            })
            .unwrap();
        (job, release, started)
    }

    #[test]
    fn runs_work_and_returns_its_result() {
        let pool = PhotoPool::start(2, 0).unwrap();
        assert_eq!(block_on(pool.run(|| 6 * 7)), Ok(42));
        assert_eq!(pool.free_places(), 2);
    }

    #[test]
    fn past_the_threads_and_the_queue_work_is_refused_at_once() {
        let pool = PhotoPool::start(1, 1).unwrap();
        let (running, release_running, started) = held(&pool);
        started.recv().unwrap();
        // One thread busy, one queue place left.
        let (queued, release_queued, _) = held(&pool);
        assert_eq!(pool.free_places(), 0);
        assert_eq!(pool.submit(|| 0).err(), Some(PoolError::Busy));
        release_running.send(()).unwrap();
        release_queued.send(()).unwrap();
        assert_eq!(block_on(running), Ok(7));
        assert_eq!(block_on(queued), Ok(7));
        assert_eq!(block_on(pool.run(|| 1)), Ok(1));
    }

    #[test]
    fn a_caller_that_goes_away_keeps_the_place_until_the_work_ends() {
        let pool = PhotoPool::start(1, 0).unwrap();
        let (job, release, started) = held(&pool);
        started.recv().unwrap();
        drop(job);
        assert_eq!(pool.submit(|| 0).err(), Some(PoolError::Busy));
        release.send(()).unwrap();
        // The place comes back once the work has ended on its thread.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while pool.free_places() == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the place never came back"
            );
            std::thread::yield_now();
        }
        assert_eq!(block_on(pool.run(|| 2)), Ok(2));
    }

    #[test]
    fn a_panicking_decoder_fails_its_caller_not_the_pool() {
        let pool = PhotoPool::start(1, 0).unwrap();
        let failed = block_on(pool.run(|| -> u32 { panic!("decoder bug") }));
        assert_eq!(failed, Err(PoolError::Failed));
        assert_eq!(block_on(pool.run(|| 3)), Ok(3));
    }
}
