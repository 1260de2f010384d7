//! Lifetimes of connections and of the process. A connection may idle between requests for
//! `keepalive_timeout_s` and must deliver each request head within `header_timeout_s`
//! (slowloris). SIGTERM keeps the listeners open for `grace_period_s` (responses say
//! `Connection: close`, so a load balancer sees the replica leave), then closes them and lets the
//! requests in flight finish for up to `graceful_shutdown_timeout_s`, exiting as soon as none is.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::apps::{HttpServerApp, ServerApp};
use pingora::protocols::http::ServerSession;
use pingora::protocols::Stream;
use pingora::server::{ExecutionPhase, ShutdownSignal, ShutdownSignalWatch, ShutdownWatch};

static DRAINING: AtomicBool = AtomicBool::new(false);
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static CONNECTIONS: AtomicUsize = AtomicUsize::new(0);

/// True once a shutdown or an upgrade has begun: answers close their connection.
pub fn draining() -> bool {
    DRAINING.load(Ordering::Relaxed)
}

/// Requests whose head has been read and whose context is still alive.
pub fn in_flight() -> usize {
    IN_FLIGHT.load(Ordering::Relaxed)
}

/// Open client connections (a connection may be between requests, or still sending a head).
fn connections() -> usize {
    CONNECTIONS.load(Ordering::Relaxed)
}

/// Held by each connection's task.
struct Open(());

impl Open {
    fn enter() -> Open {
        CONNECTIONS.fetch_add(1, Ordering::Relaxed);
        Open(())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        CONNECTIONS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Held by each request's context: the drain waits until none is left.
pub struct InFlight(());

impl InFlight {
    pub fn enter() -> InFlight {
        IN_FLIGHT.fetch_add(1, Ordering::Relaxed);
        // The head of this connection's current request has arrived: its deadline is met.
        let _ = HEAD_READ.try_with(|h| h.store(true, Ordering::Relaxed));
        InFlight(())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::Relaxed);
    }
}

tokio::task_local! {
    /// Set when pingora has parsed the request head of the connection task's current request.
    static HEAD_READ: Arc<AtomicBool>;
}

/// The HTTP/1 connection loop of pingora's own `ServerApp`, with a deadline on each request
/// head: pingora bounds each read, not the whole head, so a client dripping a byte every few
/// seconds would hold a connection for ever. Plain-text HTTP/1 is all our listeners speak.
pub struct Bounded<A> {
    pub inner: Arc<A>,
    pub keepalive_s: u64,
    pub header: Duration,
}

#[async_trait]
impl<A: HttpServerApp + Send + Sync + 'static> ServerApp for Bounded<A> {
    async fn process_new(self: &Arc<Self>, stream: Stream, shutdown: &ShutdownWatch) -> Option<Stream> {
        let _open = Open::enter();
        let mut session = ServerSession::new_http1(stream);
        // A new connection owes its first head at once; a reused one may idle first.
        let mut wait = self.header;
        loop {
            // Idle reads between requests end quietly after keepalive_s (pingora's keep-alive).
            let keepalive = (!draining() && !*shutdown.borrow()).then_some(self.keepalive_s.max(1));
            session.set_keepalive(keepalive);
            let head = Arc::new(AtomicBool::new(false));
            let serve = HEAD_READ.scope(head.clone(), self.inner.process_new_http(session, shutdown));
            let deadline = async {
                tokio::time::sleep(wait).await;
                if head.load(Ordering::Relaxed) {
                    std::future::pending::<()>().await;
                }
            };
            let reused = tokio::select! {
                r = serve => r,
                _ = deadline => {
                    crate::metrics::metrics().connections_closed.with_label_values(&["header_timeout"]).inc();
                    return None;
                }
            };
            let (stream, settings) = reused?.consume();
            session = ServerSession::new_http1(stream);
            if let Some(s) = settings {
                s.apply_to_session(&mut session);
            }
            wait = Duration::from_secs(self.keepalive_s) + self.header;
        }
    }

    async fn cleanup(&self) {
        self.inner.http_cleanup().await;
    }
}

/// pingora's signal handling, with our SIGTERM: keep serving through the grace period.
pub struct Signals {
    pub grace: Duration,
}

#[async_trait]
impl ShutdownSignalWatch for Signals {
    async fn recv(&self) -> ShutdownSignal {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut quit), Ok(mut term), Ok(mut int)) =
            (signal(SignalKind::quit()), signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
        else {
            tracing::error!("cannot install signal handlers; SIGTERM will kill the process");
            return std::future::pending().await;
        };
        tokio::select! {
            _ = quit.recv() => {
                DRAINING.store(true, Ordering::Relaxed);
                ShutdownSignal::GracefulUpgrade
            }
            _ = term.recv() => {
                DRAINING.store(true, Ordering::Relaxed);
                tracing::info!(grace_s = self.grace.as_secs(), "SIGTERM: serving through the grace period");
                tokio::select! {
                    _ = tokio::time::sleep(self.grace) => {}
                    _ = int.recv() => return ShutdownSignal::FastShutdown,
                }
                ShutdownSignal::GracefulTerminate
            }
            _ = int.recv() => ShutdownSignal::FastShutdown,
        }
    }
}

/// Once pingora has closed the listeners (after SIGTERM's grace, or an upgrade's hand-over) it
/// sleeps for its grace period (our `graceful_shutdown_timeout_s`) before cutting what is left;
/// this watcher ends the process as soon as no request is in flight instead.
pub fn exit_when_drained(mut phases: tokio::sync::broadcast::Receiver<ExecutionPhase>) {
    std::thread::spawn(move || loop {
        match phases.blocking_recv() {
            Ok(ExecutionPhase::ShutdownGracePeriod) => drain_then_exit(),
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            _ => continue,
        }
    });
}

/// Waits until no connection is open for two polls in a row, then exits. Once the listeners
/// are closed, pingora drops connections idle between requests, and those still sending a
/// head, at once; what is left are requests in flight.
fn drain_then_exit() -> ! {
    let mut quiet = 0;
    while quiet < 2 {
        quiet = if in_flight() == 0 && connections() == 0 { quiet + 1 } else { 0 };
        std::thread::sleep(Duration::from_millis(50));
    }
    tracing::info!("drained: exiting");
    std::process::exit(0)
}
