//! Graceful shutdown. On SIGTERM or SIGINT the server stops accepting, answers the requests
//! in flight (actix's graceful stop, `ServerHandle::stop(true)`, for at most the shutdown
//! timeout), and then [`drain`] finishes what runs beside the requests: the status-list
//! thread ends after its pass, the verifier verifies, audits and answers the scans still
//! queued (only scans of requests cut short by the timeout can be left), and review claims
//! that committed without their answer leaving are given back. Two log lines say when it
//! began and what it drained.
//!
//! actix's own signal handling is turned off (`disable_signals`) because it treats SIGINT as
//! a forced stop that drops the requests in flight; here both signals stop gracefully.

use super::state::AppState;
use crate::service::photo_review;
use actix_web::dev::ServerHandle;
use actix_web::rt::signal::unix::{signal, SignalKind};
use std::pin::pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// What the work after the server stopped gets at least, even when the requests used the
/// whole shutdown timeout: the verifier's last batch takes about 2 ms, a claim's release one
/// short transaction, a status-list pass well under a second.
pub const AFTER_STOP_GRACE: Duration = Duration::from_secs(5);

/// When and why the shutdown began; shared by the signal listener and the drain.
#[derive(Clone, Default)]
pub struct Stopping {
    began: Arc<OnceLock<(Instant, &'static str)>>,
}

impl Stopping {
    /// Records the start (the first one counts) and says so in the log.
    pub fn begin(&self, cause: &'static str, timeout: Duration) -> Instant {
        let mut first = false;
        let (at, _) = *self.began.get_or_init(|| {
            first = true;
            (Instant::now(), cause)
        });
        if first {
            tracing::info!(
                cause,
                timeout_secs = timeout.as_secs(),
                "shutdown started: accepting no more connections, answering the requests in flight"
            );
        }
        at
    }
}

/// Waits for SIGTERM or SIGINT, then stops `server` gracefully. Spawn it on the server's
/// actix system.
pub async fn stop_on_signal(server: ServerHandle, stopping: Stopping, timeout: Duration) {
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot listen for SIGTERM and SIGINT: stop the server with its handle");
        return;
    };
    let cause = match futures_util::future::select(pin!(term.recv()), pin!(int.recv())).await {
        futures_util::future::Either::Left(_) => "SIGTERM",
        futures_util::future::Either::Right(_) => "SIGINT",
    };
    stopping.begin(cause, timeout);
    server.stop(true).await;
}

/// What [`drain`] did, for the last log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drained {
    /// Scans answered after the server stopped (queued by requests the timeout cut short).
    pub scans: u64,
    /// Every verifier thread ended in time.
    pub verifier_stopped: bool,
    /// The status-list thread ended in time.
    pub status_lists_stopped: bool,
    /// Review claims given back because their request was never answered.
    pub claims_released: usize,
    /// Claims still committing at the deadline, or whose release failed: left to lapse.
    pub claims_left: usize,
}

/// Everything after the server stopped, until `deadline`. Blocking: run it off the executor.
pub fn drain(state: &AppState, deadline: Instant) -> Drained {
    let status_lists_stopped = state.status_lists.stop_and_wait(deadline);
    let verifier = state.verifications.drain(deadline);
    let unfinished = state.claims_in_flight.unfinished(deadline);
    let mut released = 0;
    let mut left = unfinished.still_running;
    for claim in &unfinished.claims {
        let outcome = state.db.get().map_err(Into::into).and_then(|mut conn| {
            photo_review::release_unfinished(
                &mut conn,
                &claim.submission_id,
                &claim.reviewer_token_id,
                claim.until,
                state.clock.now(),
            )
        });
        match outcome {
            Ok(true) => released += 1,
            // Renewed, released or decided since, or lapsed: nothing to give back.
            Ok(false) => {}
            Err(error) => {
                left += 1;
                tracing::warn!(%error, submission = %claim.submission_id,
                    "shutdown: cannot give back an unfinished review claim; it lapses with its lease");
            }
        }
    }
    Drained {
        scans: verifier.scans,
        verifier_stopped: verifier.stopped,
        status_lists_stopped,
        claims_released: released,
        claims_left: left,
    }
}

/// The last line: how long the shutdown took and what was drained.
pub fn log_end(began: Instant, drained: &Drained) {
    let elapsed_ms = began.elapsed().as_millis() as u64;
    if drained.verifier_stopped && drained.status_lists_stopped && drained.claims_left == 0 {
        tracing::info!(
            elapsed_ms,
            scans_drained = drained.scans,
            claims_released = drained.claims_released,
            "shutdown complete"
        );
    } else {
        tracing::warn!(
            elapsed_ms,
            scans_drained = drained.scans,
            claims_released = drained.claims_released,
            claims_left = drained.claims_left,
            verifier_stopped = drained.verifier_stopped,
            status_lists_stopped = drained.status_lists_stopped,
            "shutdown complete, past its deadline: what was left is named here"
        );
    }
}
