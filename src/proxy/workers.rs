//! The transform worker pool and its admission. At most N transforms run at once (N = cores by
//! default), on tokio's blocking threads, never on the async workers; at most Q wait, each for a
//! bounded time. Before a render fetches anything it takes a [`Ticket`]: one of N + Q slots,
//! then its share of a memory budget (the source's size, then the plan's estimate). Past any of
//! these the answer is an immediate (or bounded-wait) 503, so overload never queues without
//! bound, never fetches sources it cannot process, and never holds more memory than budgeted.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::metrics::metrics;
use crate::error::OssError;

/// Makes memory freed by renders go back to the system, so that the budget bounds the process's
/// resident size and not only what is in use. glibc's malloc raises its mmap threshold to the
/// size of each large block freed (up to 32 MiB): after the first images, decode and pixel
/// buffers come from its per-thread arenas, which keep what is freed (in scripts/flood, with a
/// 256 MiB budget, the resident size passed 500 MiB and kept growing; 136 MiB at most with this).
/// A fixed threshold (which also ends the adjustment) gives every allocation of 128 KiB or more
/// its own mapping, unmapped when freed.
/// Called once at `serve`'s start; process-wide, hence not in [`Workers::new`].
pub fn return_large_frees_to_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt is thread-safe and only sets a parameter of the allocator.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 << 10);
    }
}

pub struct Workers {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
    wait: Duration,
    /// Renders in flight, fetching or transforming: workers + queue.
    slots: Arc<Semaphore>,
    /// The memory budget, in KiB.
    memory: Arc<Semaphore>,
    memory_kib: u32,
}

/// A render's admission: its slot and the memory reserved for it, released when dropped (which
/// the render does only once its transform has ended).
pub struct Ticket {
    _slot: Option<OwnedSemaphorePermit>,
    memory: Option<OwnedSemaphorePermit>,
}

impl Ticket {
    /// KiB reserved.
    pub fn reserved_kib(&self) -> u32 {
        self.memory.as_ref().map_or(0, |p| p.num_permits() as u32)
    }
}

/// A place in the queue, given back when dropped: also when the waiting request is dropped
/// because its client left.
struct QueuePlace<'a>(&'a AtomicUsize);

impl<'a> QueuePlace<'a> {
    fn take(waiting: &'a AtomicUsize, queue: usize) -> Option<QueuePlace<'a>> {
        if waiting.fetch_add(1, Ordering::SeqCst) >= queue {
            waiting.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        metrics().queue_depth.inc();
        Some(QueuePlace(waiting))
    }
}

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
        metrics().queue_depth.dec();
    }
}

impl Workers {
    /// `workers` 0 means one per core; `memory_bytes` is the budget shared by all renders.
    pub fn new(workers: usize, queue: usize, wait: Duration, memory_bytes: u64) -> Workers {
        let n =
            if workers == 0 { std::thread::available_parallelism().map_or(2, |n| n.get()) } else { workers };
        let memory_kib = u32::try_from(memory_bytes.div_ceil(1024)).unwrap_or(u32::MAX).max(1);
        Workers {
            permits: Arc::new(Semaphore::new(n)),
            waiting: AtomicUsize::new(0),
            queue,
            wait,
            slots: Arc::new(Semaphore::new(n + queue)),
            memory: Arc::new(Semaphore::new(memory_kib as usize)),
            memory_kib,
        }
    }

    /// A slot among the renders in flight, before the source is fetched: none free is a 503 at
    /// once. `patient` renders (asynchronous tasks, bounded by their own table) need no slot.
    pub fn admit(&self, patient: bool) -> Result<Ticket, OssError> {
        let slot = match patient {
            true => None,
            false => Some(self.slots.clone().try_acquire_owned().map_err(|_| OssError::busy())?),
        };
        Ok(Ticket { _slot: slot, memory: None })
    }

    /// Raises the ticket's memory reservation to `bytes` (never past the whole budget), waiting
    /// for others to release theirs at most the queue wait (`patient`: as long as it takes).
    pub async fn reserve(&self, t: &mut Ticket, bytes: u64, patient: bool) -> Result<(), OssError> {
        let want = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX).min(self.memory_kib);
        let more = want.saturating_sub(t.reserved_kib());
        if more == 0 {
            return Ok(());
        }
        let got = match self.memory.clone().try_acquire_many_owned(more) {
            Ok(p) => p,
            Err(_) if patient => {
                self.memory.clone().acquire_many_owned(more).await.map_err(|_| OssError::internal())?
            }
            Err(_) => {
                match tokio::time::timeout(self.wait, self.memory.clone().acquire_many_owned(more)).await {
                    Ok(Ok(p)) => p,
                    _ => return Err(OssError::busy()),
                }
            }
        };
        match &mut t.memory {
            Some(m) => m.merge(got),
            None => t.memory = Some(got),
        }
        Ok(())
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
                let place = QueuePlace::take(&self.waiting, self.queue).ok_or_else(OssError::busy)?;
                let got = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await;
                drop(place);
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
        // Counted on the worker thread itself: a caller that stops waiting (its client left)
        // must not make the gauge drift from what really runs.
        let res = tokio::task::spawn_blocking(move || {
            // A guard, so that a job that panics (transform::execute catches its own, other
            // jobs may not) still gives its worker back to the gauge.
            struct Busy;
            impl Drop for Busy {
                fn drop(&mut self) {
                    metrics().workers_busy.dec();
                }
            }
            metrics().workers_busy.inc();
            let busy = Busy;
            let out = job();
            drop(busy);
            drop(permit);
            out
        })
        .await;
        res.map_err(|_| OssError::internal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bounded_queue_answers_busy_at_once() {
        let w = Arc::new(Workers::new(1, 1, Duration::from_secs(5), 1 << 30));
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
        let w = Arc::new(Workers::new(1, 4, Duration::from_millis(100), 1 << 30));
        let w2 = w.clone();
        let hold =
            tokio::spawn(async move { w2.run(|| std::thread::sleep(Duration::from_millis(600))).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(w.run(|| ()).await.unwrap_err().status, 503);
        hold.await.unwrap().unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn admission_bounds_slots_and_memory() {
        let w = Workers::new(1, 1, Duration::from_millis(100), 10 << 20);
        // One worker + one queue place: two slots, the third request is refused before it
        // fetches anything; patient ones (async tasks) are bounded elsewhere.
        let (a, b) = (w.admit(false).unwrap(), w.admit(false).unwrap());
        assert_eq!(w.admit(false).err().unwrap().status, 503);
        assert!(w.admit(true).is_ok());
        drop(b);
        let mut c = w.admit(false).unwrap();
        // Memory: 8 of 10 MiB reserved in two steps; 4 more cannot be had within the wait.
        w.reserve(&mut c, 2 << 20, false).await.unwrap();
        w.reserve(&mut c, 8 << 20, false).await.unwrap();
        assert_eq!(c.reserved_kib(), 8 << 10);
        let mut d = w.admit(true).unwrap();
        assert_eq!(w.reserve(&mut d, 4 << 20, false).await.unwrap_err().status, 503);
        // A request larger than the whole budget waits for all of it rather than never running.
        drop(c);
        w.reserve(&mut d, 64 << 20, false).await.unwrap();
        assert_eq!(d.reserved_kib(), 10 << 10);
        drop((a, d));
        assert_eq!(w.memory.available_permits(), 10 << 10);
    }
}
