//! The transform worker pool and its admission. At most N transforms run at once (N = cores by
//! default), on tokio's blocking threads, never on the async workers; at most Q wait, each for a
//! bounded time. Before a render fetches anything it takes a [`Ticket`]: one of N + Q slots,
//! then its turn (one of 2N: the renders running plus as many ready to start, in arrival order),
//! then its share of a memory budget (the source's size, then the plan's estimate). Past any of
//! these the answer is an immediate (or bounded-wait) 503, so overload never queues without
//! bound, never fetches sources it cannot process soon, and never holds more memory than budgeted.
//! Turns are why 64 waiting requests hold 4 sources, not 64, and are served first come first
//! served (docs/decisions.md "Admission"). Background work (asynchronous tasks) waits for turns,
//! workers and memory without a deadline, so it first takes one of a few background places:
//! at most that many tasks stand in those queues, and a backlog of tasks never fills the turns
//! interactive requests need.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::OssError;
use crate::metrics::metrics;

pub struct Workers {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
    wait: Duration,
    /// Renders in flight, fetching or transforming: workers + queue.
    slots: Arc<Semaphore>,
    /// Renders that may hold a fetched source: 2 × workers, taken in arrival order.
    turns: Arc<Semaphore>,
    /// The memory budget, in KiB.
    memory: Arc<Semaphore>,
    memory_kib: u32,
    /// Background renders that may be admitted at once.
    background: Arc<Semaphore>,
}

/// A render's admission: its slot and the memory reserved for it, released when dropped (which
/// the render does only once its transform has ended).
pub struct Ticket {
    _slot: Option<OwnedSemaphorePermit>,
    turn: Option<OwnedSemaphorePermit>,
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
    /// `workers` 0 means one per core; `memory_bytes` is the budget shared by all renders;
    /// `background` 0 means half the workers, at least one.
    pub fn new(
        workers: usize,
        queue: usize,
        wait: Duration,
        memory_bytes: u64,
        background: usize,
    ) -> Workers {
        let n =
            if workers == 0 { std::thread::available_parallelism().map_or(2, |n| n.get()) } else { workers };
        let background = if background == 0 { (n / 2).max(1) } else { background.min(n) };
        let memory_kib = u32::try_from(memory_bytes.div_ceil(1024)).unwrap_or(u32::MAX).max(1);
        Workers {
            permits: Arc::new(Semaphore::new(n)),
            waiting: AtomicUsize::new(0),
            queue,
            wait,
            slots: Arc::new(Semaphore::new(n + queue)),
            turns: Arc::new(Semaphore::new(2 * n)),
            memory: Arc::new(Semaphore::new(memory_kib as usize)),
            memory_kib,
            background: Arc::new(Semaphore::new(background)),
        }
    }

    /// A background place, waited for as long as it takes; held for the whole background render.
    pub async fn background(&self) -> Result<OwnedSemaphorePermit, OssError> {
        self.background.clone().acquire_owned().await.map_err(|_| OssError::internal())
    }

    /// A slot among the renders in flight, before the source is fetched: none free is a 503 at
    /// once. `patient` renders (asynchronous tasks, bounded by their own table) need no slot.
    pub fn admit(&self, patient: bool) -> Result<Ticket, OssError> {
        let slot = match patient {
            true => None,
            false => Some(self.slots.clone().try_acquire_owned().map_err(|_| OssError::busy())?),
        };
        Ok(Ticket { _slot: slot, turn: None, memory: None })
    }

    /// Waits for the ticket's turn to fetch and transform, first come first served: at most the
    /// queue wait, or as long as it takes when `patient`. Without turns every admitted request
    /// would fetch its source at once and hold it while it waits for a worker.
    pub async fn turn(&self, t: &mut Ticket, patient: bool) -> Result<(), OssError> {
        if t.turn.is_some() {
            return Ok(());
        }
        let turn = match self.turns.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) if patient => {
                self.turns.clone().acquire_owned().await.map_err(|_| OssError::internal())?
            }
            Err(_) => {
                // Reserve a queue place first, so the queue length is a hard bound.
                let place = QueuePlace::take(&self.waiting, self.queue).ok_or_else(OssError::busy)?;
                let got = tokio::time::timeout(self.wait, self.turns.clone().acquire_owned()).await;
                drop(place);
                match got {
                    Ok(Ok(p)) => p,
                    _ => return Err(OssError::busy()),
                }
            }
        };
        t.turn = Some(turn);
        Ok(())
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

    /// Runs CPU-bound `job` on a worker, waiting for one at most the configured time. Renders
    /// wait in [`Workers::turn`]; past it at most N are ready, so this wait is short and takes
    /// no queue place.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, OssError> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
                Ok(Ok(p)) => p,
                _ => return Err(OssError::busy()),
            },
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
    async fn turns_bound_fetched_sources_and_the_queue_answers_busy_at_once() {
        let w = Arc::new(Workers::new(1, 1, Duration::from_secs(5), 1 << 30, 0));
        // One worker: two turns (one running, one ready), taken at once.
        let (mut a, mut b) = (w.admit(true).unwrap(), w.admit(true).unwrap());
        w.turn(&mut a, false).await.unwrap();
        w.turn(&mut b, false).await.unwrap();
        // One may wait for a turn...
        let queued = {
            let w = w.clone();
            tokio::spawn(async move {
                let mut t = w.admit(true).unwrap();
                w.turn(&mut t, false).await.map(|_| t)
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(w.waiting.load(Ordering::SeqCst), 1);
        // ...the next is refused without waiting.
        let start = std::time::Instant::now();
        let mut c = w.admit(true).unwrap();
        assert_eq!(w.turn(&mut c, false).await.unwrap_err().status, 503);
        assert!(start.elapsed() < Duration::from_secs(1));
        // A turn given back goes to the one waiting.
        drop(a);
        assert!(queued.await.unwrap().is_ok());
        drop(b);
        assert_eq!(w.turns.available_permits(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn turns_go_first_come_first_served() {
        let w = Arc::new(Workers::new(1, 8, Duration::from_secs(5), 1 << 30, 0));
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut t = w.admit(true).unwrap();
            w.turn(&mut t, false).await.unwrap();
            held.push(t);
        }
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for i in 0..5 {
            let (w, tx) = (w.clone(), tx.clone());
            tokio::spawn(async move {
                let mut t = w.admit(true).unwrap();
                w.turn(&mut t, false).await.unwrap();
                // Sent while the turn is held, so the order received is the order granted.
                tx.send(i).unwrap();
            });
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // One turn free at a time: each waiter gets it only after the one before gave it back.
        held.truncate(1);
        let mut order = Vec::new();
        for _ in 0..5 {
            order.push(rx.recv().await.unwrap());
        }
        assert_eq!(order, [0, 1, 2, 3, 4]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waits_are_bounded() {
        let w = Arc::new(Workers::new(1, 4, Duration::from_millis(100), 1 << 30, 0));
        let (mut a, mut b, mut c) = (w.admit(true).unwrap(), w.admit(true).unwrap(), w.admit(true).unwrap());
        w.turn(&mut a, false).await.unwrap();
        w.turn(&mut b, false).await.unwrap();
        assert_eq!(w.turn(&mut c, false).await.unwrap_err().status, 503);
        // A patient one (an asynchronous task) waits as long as it takes.
        let patient = {
            let w = w.clone();
            tokio::spawn(async move { w.turn(&mut c, true).await })
        };
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(!patient.is_finished());
        drop(a);
        patient.await.unwrap().unwrap();
        // The worker itself: a second job waits at most the queue wait.
        let w2 = w.clone();
        let hold =
            tokio::spawn(async move { w2.run(|| std::thread::sleep(Duration::from_millis(600))).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(w.run(|| ()).await.unwrap_err().status, 503);
        hold.await.unwrap().unwrap();
        drop(b);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn admission_bounds_slots_and_memory() {
        let w = Workers::new(1, 1, Duration::from_millis(100), 10 << 20, 0);
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
