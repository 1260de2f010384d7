//! The transform worker pool: at most N transforms run at once (N = cores by default), on
//! tokio's blocking threads, never on the async workers; at most Q wait, each for a bounded
//! time. Past that the answer is an immediate 503, so overload never queues without bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::metrics::metrics;
use crate::error::OssError;

pub struct Workers {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
    wait: Duration,
}

impl Workers {
    /// `workers` 0 means one per core.
    pub fn new(workers: usize, queue: usize, wait: Duration) -> Workers {
        let n =
            if workers == 0 { std::thread::available_parallelism().map_or(2, |n| n.get()) } else { workers };
        Workers { permits: Arc::new(Semaphore::new(n)), waiting: AtomicUsize::new(0), queue, wait }
    }

    /// Runs CPU-bound `job` on a worker, waiting for one at most the configured time.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, OssError> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                // Reserve a queue slot first, so the queue length is a hard bound.
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    return Err(OssError::busy());
                }
                metrics().queue_depth.inc();
                let got = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await;
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                metrics().queue_depth.dec();
                match got {
                    Ok(Ok(p)) => p,
                    _ => return Err(OssError::busy()),
                }
            }
        };
        Self::on_worker(permit, job).await
    }

    /// Runs `job` on a worker, waiting for one as long as it takes: for asynchronous tasks,
    /// whose own table bounds how many wait.
    pub async fn run_patient<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, OssError> {
        let permit = self.permits.clone().acquire_owned().await.map_err(|_| OssError::internal())?;
        Self::on_worker(permit, job).await
    }

    async fn on_worker<T: Send + 'static>(
        permit: tokio::sync::OwnedSemaphorePermit,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, OssError> {
        metrics().workers_busy.inc();
        let res = tokio::task::spawn_blocking(move || {
            let out = job();
            drop(permit);
            out
        })
        .await;
        metrics().workers_busy.dec();
        res.map_err(|_| OssError::internal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bounded_queue_answers_busy_at_once() {
        let w = Arc::new(Workers::new(1, 1, Duration::from_secs(5)));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        // One job holds the only worker until released.
        let hold = {
            let (w, rx) = (w.clone(), rx.clone());
            tokio::spawn(async move { w.run(move || rx.lock().unwrap().recv().ok()).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        // One may wait...
        let queued = {
            let w = w.clone();
            tokio::spawn(async move { w.run(|| 7).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        // ...the next is refused without waiting.
        let start = std::time::Instant::now();
        assert_eq!(w.run(|| 1).await.unwrap_err().status, 503);
        assert!(start.elapsed() < Duration::from_secs(1));
        tx.send(()).unwrap();
        assert!(hold.await.unwrap().is_ok());
        assert_eq!(queued.await.unwrap().unwrap(), 7);
        assert_eq!(w.run(|| 2).await.unwrap(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queue_wait_is_bounded() {
        let w = Arc::new(Workers::new(1, 4, Duration::from_millis(100)));
        let w2 = w.clone();
        let hold =
            tokio::spawn(async move { w2.run(|| std::thread::sleep(Duration::from_millis(600))).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(w.run(|| ()).await.unwrap_err().status, 503);
        hold.await.unwrap().unwrap();
    }
}
