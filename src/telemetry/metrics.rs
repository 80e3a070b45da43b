//! The Prometheus metrics: their names, their descriptions, the histograms' buckets, and one
//! small function per thing worth counting, so that the code being measured calls
//! `metrics::scans_verified(…)` and never spells a metric name or a label itself.
//!
//! Nothing is recorded until [`install`] has run (`serve --metrics-bind`): before that the
//! `metrics` macros find no recorder and cost a load and a branch. docs/operations.md says
//! which service level each family proves.

use crate::service::verification::{Scan, ScanError, Verification};
use crate::service::verification_queue::MAX_BATCH;
use crate::storage::{Fault, StorageError};
use ::metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

pub const HTTP_REQUESTS: &str = "elicence_http_requests_total";
pub const HTTP_DURATION: &str = "elicence_http_request_duration_seconds";
pub const SCANS: &str = "elicence_verify_scans_total";
pub const BATCH_SIZE: &str = "elicence_verify_batch_size";
pub const AUDIT_COMMIT: &str = "elicence_verify_audit_commit_seconds";
pub const AUDIT_SYNC: &str = "elicence_verify_audit_sync_seconds";
pub const ISSUED: &str = "elicence_issuance_total";
pub const ISSUE_REFUSED: &str = "elicence_issuance_refusals_total";
pub const REVIEW_DECISIONS: &str = "elicence_review_decisions_total";
pub const REVIEW_LEASE_EXPIRIES: &str = "elicence_review_lease_expiries_total";
pub const REVIEW_PENDING: &str = "elicence_review_pending";
pub const REVIEW_OVERDUE: &str = "elicence_review_overdue";
pub const REVIEW_OLDEST_REMAINING: &str = "elicence_review_oldest_deadline_remaining_seconds";
pub const REVIEW_LAPSED_LEASES: &str = "elicence_review_lapsed_leases";
pub const LIST_AGE: &str = "elicence_status_list_age_seconds";
pub const LIST_ENTRIES: &str = "elicence_status_list_entries";
pub const LIST_DELAY: &str = "elicence_status_list_publish_delay_seconds";
pub const KEY_AGE: &str = "elicence_signing_active_key_age_seconds";
pub const KEYS_PUBLISHED: &str = "elicence_signing_published_keys";
pub const KEY_RELOADS: &str = "elicence_signing_key_reloads_total";
pub const KEY_LOAD_OK: &str = "elicence_signing_key_last_load_ok";
pub const POOL_CONNECTIONS: &str = "elicence_db_pool_connections";
pub const POOL_WAITING: &str = "elicence_db_pool_waiting";
pub const CHECKOUT_TIMEOUTS: &str = "elicence_db_checkout_timeouts_total";
pub const STORAGE_UNAVAILABLE: &str = "elicence_storage_unavailable_total";
pub const SQLITE_WAL: &str = "elicence_sqlite_wal_bytes";
pub const AUDIT_UNINDEXED: &str = "elicence_verify_audit_unindexed_rows";
pub const CODE_TTL: &str = "elicence_code_ttl_seconds";
pub const IMPORT_ROWS: &str = "elicence_import_rows_total";
pub const IMPORT_REJECTS: &str = "elicence_import_rejects_total";
pub const IMPORT_DURATION: &str = "elicence_import_duration_seconds";
pub const IMPORT_FINISHED: &str = "elicence_import_last_finished_timestamp_seconds";

/// Latency buckets (seconds) around the 10 ms verify promise, fine where it matters.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0,
];
/// The status-list delay promise is 5 s; the signer looks every second by default.
const DELAY_BUCKETS: &[f64] = &[0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0];
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, MAX_BATCH as f64];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's recorder (once: later calls return the same handle), describes
/// every family and sets the known label values to zero, so that a family exists from the
/// first scrape and `rate()` sees its first increment.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = [
                (HTTP_DURATION, LATENCY_BUCKETS),
                (AUDIT_COMMIT, LATENCY_BUCKETS),
                (AUDIT_SYNC, LATENCY_BUCKETS),
                (LIST_DELAY, DELAY_BUCKETS),
                (BATCH_SIZE, BATCH_BUCKETS),
            ]
            .into_iter()
            .fold(PrometheusBuilder::new(), |b, (name, buckets)| {
                b.set_buckets_for_metric(Matcher::Full(name.to_owned()), buckets)
                    .expect("bucket lists are not empty")
            });
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Only fails when another recorder is installed: then this one stays unused and
            // its (empty) handle is what /metrics shows, which a test would notice.
            if ::metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was installed already");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route pattern, method and status class"
    );
    describe_histogram!(
        HTTP_DURATION,
        ::metrics::Unit::Seconds,
        "Time to answer an HTTP request, by route pattern, method and status class"
    );
    describe_counter!(
        SCANS,
        "Scans verified, by channel (qr, barcode, purpose), outcome and first reason"
    );
    describe_histogram!(
        BATCH_SIZE,
        "Scans verified together in one batch (one audit commit)"
    );
    describe_histogram!(
        AUDIT_COMMIT,
        ::metrics::Unit::Seconds,
        "Time of the write transaction that audits one batch of scans"
    );
    describe_histogram!(
        AUDIT_SYNC,
        ::metrics::Unit::Seconds,
        "Time to sync the SQLite log for the batches committed since the last sync, before their scans are answered"
    );
    describe_counter!(
        ISSUED,
        "E-licences issued, by channel (app, review_approval, counter)"
    );
    describe_counter!(ISSUE_REFUSED, "Issuances refused, by channel and reason");
    describe_counter!(REVIEW_DECISIONS, "Photo review decisions, by outcome");
    describe_counter!(
        REVIEW_LEASE_EXPIRIES,
        "Decisions or releases refused because the reviewer's lease had lapsed"
    );
    describe_gauge!(REVIEW_PENDING, "Photo submissions waiting for review");
    describe_gauge!(
        REVIEW_OVERDUE,
        "Photo submissions past their one-working-day deadline"
    );
    describe_gauge!(
        REVIEW_OLDEST_REMAINING,
        ::metrics::Unit::Seconds,
        "Time left before the deadline of the oldest pending submission (negative: overdue)"
    );
    describe_gauge!(
        REVIEW_LAPSED_LEASES,
        "Pending submissions whose reviewer's lease lapsed without a decision"
    );
    describe_gauge!(
        LIST_AGE,
        ::metrics::Unit::Seconds,
        "Age of each published status list token"
    );
    describe_gauge!(
        LIST_ENTRIES,
        "Status list entries given out, by status (valid, invalid, suspended) as last signed"
    );
    describe_histogram!(
        LIST_DELAY,
        ::metrics::Unit::Seconds,
        "From the last registry change of a list to the signed list that carries it"
    );
    describe_gauge!(
        KEY_AGE,
        ::metrics::Unit::Seconds,
        "Age of the active signing key"
    );
    describe_gauge!(KEYS_PUBLISHED, "Public keys published in the JWKS");
    describe_counter!(
        KEY_RELOADS,
        "Looks at the keys folder, by outcome (reloaded, unchanged, failed)"
    );
    describe_gauge!(
        KEY_LOAD_OK,
        "1 when the last look at the keys folder succeeded, 0 while it fails"
    );
    describe_gauge!(
        POOL_CONNECTIONS,
        "Database pool connections, by state (in_use, idle)"
    );
    describe_gauge!(POOL_WAITING, "Requests waiting for a database connection");
    describe_counter!(
        CHECKOUT_TIMEOUTS,
        "Database checkouts that timed out (answered 503)"
    );
    describe_counter!(
        STORAGE_UNAVAILABLE,
        "Requests answered 503 storage_unavailable, by fault"
    );
    describe_gauge!(
        SQLITE_WAL,
        ::metrics::Unit::Bytes,
        "Size of the SQLite write-ahead log file (0 on PostgreSQL)"
    );
    describe_gauge!(
        AUDIT_UNINDEXED,
        "Verification audit rows not yet in the SQLite audit index file (0 on PostgreSQL)"
    );
    describe_gauge!(
        CODE_TTL,
        ::metrics::Unit::Seconds,
        "How long a display code (QR and barcode) stays valid, as configured"
    );
    for channel in ["app", "review_approval", "counter"] {
        counter!(ISSUED, "channel" => channel).absolute(0);
    }
    for (channel, reason) in [("app", "not_eligible"), ("counter", "not_eligible")] {
        counter!(ISSUE_REFUSED, "channel" => channel, "reason" => reason).absolute(0);
    }
    for outcome in ["approved", "rejected"] {
        counter!(REVIEW_DECISIONS, "outcome" => outcome).absolute(0);
    }
    counter!(REVIEW_LEASE_EXPIRIES).absolute(0);
    for outcome in ["reloaded", "unchanged", "failed"] {
        counter!(KEY_RELOADS, "outcome" => outcome).absolute(0);
    }
    counter!(CHECKOUT_TIMEOUTS).absolute(0);
    for fault in Fault::ALL {
        counter!(STORAGE_UNAVAILABLE, "fault" => fault.code()).absolute(0);
    }
    gauge!(POOL_WAITING).set(0.0);
}

/// One HTTP request answered.
pub fn http_request(route: String, method: &'static str, status: u16, took: Duration) {
    let class = match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    let labels = [
        ("route", route),
        ("method", method.to_owned()),
        ("status_class", class.to_owned()),
    ];
    counter!(HTTP_REQUESTS, &labels).increment(1);
    histogram!(HTTP_DURATION, &labels).record(took.as_secs_f64());
}

/// A batch of scans answered: its size, and each scan by channel, outcome and first reason.
pub fn scans_verified<'a>(
    scans: impl ExactSizeIterator<Item = &'a Scan>,
    verdicts: &Result<Vec<Result<Verification, ScanError>>, StorageError>,
) {
    histogram!(BATCH_SIZE).record(scans.len() as f64);
    for (i, scan) in scans.enumerate() {
        let (outcome, reason) = match verdicts.as_ref().map(|v| v.get(i)) {
            Ok(Some(Ok(v))) if v.outcome.valid => ("valid", "none".to_owned()),
            Ok(Some(Ok(v))) => (
                "invalid",
                v.outcome
                    .reasons
                    .first()
                    .map(|r| r.code().to_owned())
                    .unwrap_or_default(),
            ),
            Ok(Some(Err(ScanError::Auth(_)))) => ("refused", "unauthorized".to_owned()),
            Ok(Some(Err(ScanError::Storage(e)))) | Err(e) => ("error", storage_reason(e)),
            Ok(None) => ("error", "unanswered".to_owned()),
        };
        counter!(SCANS, "channel" => channel(scan), "outcome" => outcome, "reason" => reason)
            .increment(1);
    }
}

fn storage_reason(e: &StorageError) -> String {
    e.fault().map_or("storage", Fault::code).to_owned()
}

/// qr (a roadside code), purpose (a minimal code for a partner) or barcode.
fn channel(scan: &Scan) -> &'static str {
    match scan {
        Scan::Code(text) if text.starts_with(crate::domain::minimal::MINIMAL_PREFIX) => "purpose",
        Scan::Code(_) => "qr",
        Scan::Barcode(_) => "barcode",
    }
}

/// The audit transaction of one batch committed after `took`.
pub fn audit_committed(took: Duration) {
    histogram!(AUDIT_COMMIT).record(took.as_secs_f64());
}

/// The SQLite log synced for the audit commits since the last sync.
pub fn audit_synced(took: Duration) {
    histogram!(AUDIT_SYNC).record(took.as_secs_f64());
}

/// An e-licence issued: `channel` is app, review_approval or counter.
pub fn issued(channel: &'static str) {
    counter!(ISSUED, "channel" => channel).increment(1);
}

/// An issuance refused for `reason` (a stable error code).
pub fn issuance_refused(channel: &'static str, reason: &'static str) {
    counter!(ISSUE_REFUSED, "channel" => channel, "reason" => reason).increment(1);
}

/// A review decision recorded: approved or rejected.
pub fn review_decided(outcome: &'static str) {
    counter!(REVIEW_DECISIONS, "outcome" => outcome).increment(1);
}

/// A reviewer acted on an item whose lease on it had lapsed.
pub fn review_lease_expired() {
    counter!(REVIEW_LEASE_EXPIRIES).increment(1);
}

/// A status list signed; `delay` is the time since its last change when it was signed for
/// one (not for a re-signature that only refreshes it).
pub fn status_list_signed(delay: Option<chrono::Duration>) {
    if let Some(d) = delay {
        histogram!(LIST_DELAY).record(d.num_milliseconds().max(0) as f64 / 1000.0);
    }
}

/// One look at the keys folder: reloaded, unchanged or failed.
pub fn keys_looked(outcome: &'static str) {
    counter!(KEY_RELOADS, "outcome" => outcome).increment(1);
}

/// The configured lifetime of display codes.
pub fn code_ttl(ttl: chrono::Duration) {
    gauge!(CODE_TTL).set(ttl.num_seconds() as f64);
}

/// A request starts or stops waiting for a database connection.
pub fn checkout_waiting(delta: f64) {
    gauge!(POOL_WAITING).increment(delta);
}

/// A database checkout timed out.
pub fn checkout_timed_out() {
    counter!(CHECKOUT_TIMEOUTS).increment(1);
}

/// A request answered 503 storage_unavailable for `fault`.
pub fn storage_unavailable(fault: Fault) {
    counter!(STORAGE_UNAVAILABLE, "fault" => fault.code()).increment(1);
}

/// What one `elicence import` did.
pub struct ImportCounts {
    pub records: usize,
    pub event_lines: usize,
    pub rejected: usize,
    pub seconds: f64,
    pub finished_unix: i64,
}

/// The import's counters in the Prometheus text format, from a recorder of their own (the
/// command serves nothing: the file is read by node_exporter's textfile collector).
pub fn import_metrics(counts: &ImportCounts) -> String {
    let recorder = PrometheusBuilder::new().build_recorder();
    ::metrics::with_local_recorder(&recorder, || {
        describe_counter!(
            IMPORT_ROWS,
            "Lines imported by the last run, by kind (record, event)"
        );
        describe_counter!(IMPORT_REJECTS, "Lines rejected by the last run");
        describe_gauge!(
            IMPORT_DURATION,
            ::metrics::Unit::Seconds,
            "How long the last run took"
        );
        describe_gauge!(
            IMPORT_FINISHED,
            ::metrics::Unit::Seconds,
            "When the last run finished (Unix time)"
        );
        counter!(IMPORT_ROWS, "kind" => "record").absolute(counts.records as u64);
        counter!(IMPORT_ROWS, "kind" => "event").absolute(counts.event_lines as u64);
        counter!(IMPORT_REJECTS).absolute(counts.rejected as u64);
        gauge!(IMPORT_DURATION).set(counts.seconds);
        gauge!(IMPORT_FINISHED).set(counts.finished_unix as f64);
    });
    recorder.handle().render()
}
