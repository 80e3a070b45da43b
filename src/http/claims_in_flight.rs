//! Review claims whose request has not been answered yet. A claim commits on the blocking
//! pool; should the request be cut short before its answer leaves (the server stopping past
//! its shutdown timeout, or the client gone), the reviewer holds a lease they were never told
//! of, and the item would wait out the lease (ten minutes). At shutdown
//! [`ClaimsInFlight::unfinished`] names those claims, for `photo_review::release_unfinished`.

use chrono::NaiveDateTime;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A claim that committed and whose answer never left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnfinishedClaim {
    pub submission_id: String,
    pub reviewer_token_id: String,
    /// The end of the lease the claim set, as stored.
    pub until: NaiveDateTime,
}

#[derive(Debug, Clone)]
enum Progress {
    /// The claim's transaction has not returned yet.
    Running,
    Claimed {
        reviewer: String,
        until: NaiveDateTime,
    },
}

#[derive(Default)]
pub struct ClaimsInFlight {
    next: AtomicU64,
    /// By ticket; (submission id, progress). An entry leaves when its answer is ready or its
    /// claim was refused.
    open: Mutex<HashMap<u64, (String, Progress)>>,
}

/// The claims of requests cut short, and those still running at the deadline.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Unfinished {
    pub claims: Vec<UnfinishedClaim>,
    /// Claims whose transaction was still running at the deadline: not released.
    pub still_running: usize,
}

impl ClaimsInFlight {
    /// Registers a claim request on `submission_id` before its transaction starts: the
    /// handler keeps the ticket, the transaction the recorder.
    pub fn open(self: &Arc<Self>, submission_id: &str) -> (ClaimTicket, ClaimRecorder) {
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock()
            .insert(key, (submission_id.to_owned(), Progress::Running));
        (
            ClaimTicket {
                claims: self.clone(),
                key,
            },
            ClaimRecorder {
                claims: self.clone(),
                key,
                recorded: false,
            },
        )
    }

    /// Waits until no claim transaction runs (or `deadline`), then returns the claims that
    /// committed without their answer being ready. Blocking.
    pub fn unfinished(&self, deadline: Instant) -> Unfinished {
        loop {
            let open = self.lock();
            let running = open
                .values()
                .filter(|(_, p)| matches!(p, Progress::Running))
                .count();
            if running == 0 || Instant::now() >= deadline {
                let claims = open
                    .values()
                    .filter_map(|(id, p)| match p {
                        Progress::Claimed { reviewer, until } => Some(UnfinishedClaim {
                            submission_id: id.clone(),
                            reviewer_token_id: reviewer.clone(),
                            until: *until,
                        }),
                        Progress::Running => None,
                    })
                    .collect();
                return Unfinished {
                    claims,
                    still_running: running,
                };
            }
            drop(open);
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, (String, Progress)>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The handler's side: [`ClaimTicket::answered`] once the answer is ready.
pub struct ClaimTicket {
    claims: Arc<ClaimsInFlight>,
    key: u64,
}

impl ClaimTicket {
    pub fn answered(self) {
        self.claims.lock().remove(&self.key);
    }
}

/// The transaction's side: [`ClaimRecorder::claimed`] once the claim committed; dropped
/// without it, the claim was refused and nothing is left to release.
pub struct ClaimRecorder {
    claims: Arc<ClaimsInFlight>,
    key: u64,
    recorded: bool,
}

impl ClaimRecorder {
    pub fn claimed(mut self, reviewer_token_id: &str, until: NaiveDateTime) {
        self.recorded = true;
        if let Some((_, progress)) = self.claims.lock().get_mut(&self.key) {
            *progress = Progress::Claimed {
                reviewer: reviewer_token_id.to_owned(),
                until,
            };
        }
    }
}

impl Drop for ClaimRecorder {
    fn drop(&mut self) {
        if !self.recorded {
            self.claims.lock().remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn until() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc()
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_millis(200)
    }

    #[test]
    fn an_answered_claim_and_a_refused_one_leave_nothing_to_release() {
        let claims = Arc::new(ClaimsInFlight::default());
        let (ticket, recorder) = claims.open("ps_1");
        recorder.claimed("tok_a", until());
        ticket.answered();
        let (_ticket, recorder) = claims.open("ps_2");
        drop(recorder);
        assert_eq!(claims.unfinished(soon()), Unfinished::default());
    }

    #[test]
    fn a_committed_claim_whose_answer_never_left_is_unfinished() {
        let claims = Arc::new(ClaimsInFlight::default());
        let (ticket, recorder) = claims.open("ps_1");
        recorder.claimed("tok_a", until());
        drop(ticket);
        assert_eq!(
            claims.unfinished(soon()).claims,
            vec![UnfinishedClaim {
                submission_id: "ps_1".into(),
                reviewer_token_id: "tok_a".into(),
                until: until(),
            }]
        );
    }

    #[test]
    fn the_release_waits_for_a_claim_still_committing() {
        let claims = Arc::new(ClaimsInFlight::default());
        let (_ticket, recorder) = claims.open("ps_1");
        let committing = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            recorder.claimed("tok_a", until());
        });
        let found = claims.unfinished(Instant::now() + Duration::from_secs(10));
        committing.join().unwrap();
        assert_eq!(found.claims.len(), 1);
        assert_eq!(found.still_running, 0);

        let (_ticket, _recorder) = claims.open("ps_2");
        let found = claims.unfinished(soon());
        assert_eq!(
            found.still_running, 1,
            "past the deadline it is counted, not waited"
        );
    }
}
