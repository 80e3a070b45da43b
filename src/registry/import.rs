//! Bulk import of the registry feed, one JSON object a line (NDJSON).
//!
//! A line is either a whole registry record (`RegistryRecord`), upserted by licence number,
//! or a registry event for one licence:
//!
//! ```json
//! {"number":"110101199001011234","event":{"type":"status_set","status":"suspended"}}
//! ```
//!
//! (the event is the body of `POST /api/v1/admin/licences/{number}/events`). Lines apply in
//! file order. A record that replaces a stored licence is recorded and acted on as the events
//! of what changed (`domain::registry_event::derive`), exactly as an event line would be: a
//! class, validity or authority change supersedes the current e-licence, the holder is told.
//!
//! Every line is parsed and validated on its own; bad lines are reported with their number and
//! reason and skipped. Parsing runs on the calling thread while writer threads commit
//! batches, each in one transaction, so a line is either wholly written or not at all. An
//! event line that cannot apply (unknown licence, invalid values) is refused by the writer,
//! alone, and reported like any other bad line.
//!
//! On PostgreSQL `jobs` writers run at once, each on its own connection: a line goes to the
//! writer its licence number hashes to, so all the lines of one licence still apply in file
//! order, by one writer, and licences written at the same time never overlap. A batch of
//! records is streamed with `COPY` and written set-based there (`storage::bulk_import`).
//! SQLite takes one writer at a time: it always has one job.

use crate::domain::licence::LicenceNumber;
use crate::domain::record::{RegistryRecord, ValidRecord};
use crate::domain::registry_event::RegistryEvent;
use crate::service::lifecycle::{self, ImportItem};
use crate::storage::{Database, StorageError};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::io::{BufRead, Read};
use std::sync::mpsc;

/// A line may hold a photo (2 MiB, base64) and the rest of the record.
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;
/// Lines per transaction.
const BATCH: usize = 5_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedLine {
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Lines that passed validation and were written: records and event lines.
    pub accepted: usize,
    /// Of those, event lines.
    pub event_lines: usize,
    /// Registry events recorded: event lines that changed something, and the changes of
    /// re-sent records.
    pub events_recorded: usize,
    /// E-licences superseded by those events.
    pub superseded: usize,
    /// In line order.
    pub rejected: Vec<RejectedLine>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading the input failed: {0}")]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// An event line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventLine {
    number: LicenceNumber,
    event: RegistryEvent,
}

/// Is this (unparseable as a record) line meant as an event line? Its error is then the
/// event's, not the record's.
fn looks_like_event(line: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        event: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Probe>(line).is_ok_and(|p| p.event.is_some())
}

/// Parses and validates one record line.
pub fn parse_line(line: &[u8]) -> Result<ValidRecord, String> {
    let record: RegistryRecord =
        serde_json::from_slice(line).map_err(|e| format!("invalid JSON: {e}"))?;
    record
        .validate()
        .map_err(|errors| lifecycle::field_errors(&errors))
}

/// Parses one line, record or event. A record line is parsed once; only a line that is no
/// record is tried as an event.
pub fn parse_item(line: &[u8], line_no: usize) -> Result<ImportItem, String> {
    match serde_json::from_slice::<RegistryRecord>(line) {
        Ok(record) => record
            .validate()
            .map(ImportItem::Record)
            .map_err(|errors| lifecycle::field_errors(&errors)),
        Err(_) if looks_like_event(line) => {
            let e: EventLine =
                serde_json::from_slice(line).map_err(|e| format!("invalid event line: {e}"))?;
            Ok(ImportItem::Event {
                line: line_no,
                number: e.number,
                event: e.event,
            })
        }
        Err(record_error) => Err(format!("invalid JSON: {record_error}")),
    }
}

/// Reads one line of at most `MAX_LINE_BYTES`; a longer one is consumed and reported as such.
fn read_bounded_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    buf.clear();
    let n = Read::take(&mut *input, MAX_LINE_BYTES as u64 + 1).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.len() > MAX_LINE_BYTES && buf.last() != Some(&b'\n') {
        // Skip the rest of the oversized line without holding it in memory.
        let mut sink = Vec::new();
        loop {
            sink.clear();
            let m = Read::take(&mut *input, 64 * 1024).read_until(b'\n', &mut sink)?;
            if m == 0 || sink.last() == Some(&b'\n') {
                break;
            }
        }
        return Ok(Some(false));
    }
    Ok(Some(true))
}

/// The batch with its photos on file normalised and pre-checked (on every core), so
/// issuance later never decodes them on its hot path.
fn prepared(mut batch: Vec<ImportItem>) -> Vec<ImportItem> {
    let mut photos: Vec<_> = batch
        .iter_mut()
        .filter_map(|item| match item {
            ImportItem::Record(r) => r.photo.as_mut(),
            ImportItem::Event { .. } => None,
        })
        .collect();
    crate::photo::prepare_each(&mut photos);
    batch
}

/// Imports `input` into `db` with one writer. `on_reject` hears of each bad line: at once when
/// it does not parse, when its batch is written when it does not apply (an event line).
pub fn import_ndjson(
    db: &Database,
    input: impl BufRead,
    now: DateTime<Utc>,
    on_reject: impl FnMut(&RejectedLine),
) -> Result<ImportReport, ImportError> {
    import_ndjson_jobs(db, input, now, ImportOptions::jobs(1), on_reject)
}

/// How an import writes (PostgreSQL; SQLite always has one writer and multi-row upserts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOptions {
    /// Writers at once, each holding a connection of the pool for the whole import.
    pub jobs: usize,
    /// Records are staged with `COPY` and written set-based (`storage::bulk_import`); false
    /// writes them with multi-row upserts as on SQLite, kept to measure one against the other.
    pub copy: bool,
}

impl ImportOptions {
    /// `jobs` writers on the `COPY` path.
    pub fn jobs(jobs: usize) -> ImportOptions {
        ImportOptions { jobs, copy: true }
    }
}

/// Which of `jobs` writers writes the lines of licence `number`: the same one for every line
/// of a licence (FNV-1a of the number).
fn job_of(number: &str, jobs: usize) -> usize {
    let hash = number.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % jobs as u64) as usize
}

/// [`import_ndjson`] with `options.jobs` writers on PostgreSQL, each holding a connection of
/// the pool for the whole import (the pool needs `jobs` of them); SQLite always has one. The
/// report is the same whatever `jobs` is, its rejected lines in line order; `on_reject` may
/// hear of the writers' refusals out of line order.
pub fn import_ndjson_jobs(
    db: &Database,
    mut input: impl BufRead,
    now: DateTime<Utc>,
    options: ImportOptions,
    mut on_reject: impl FnMut(&RejectedLine),
) -> Result<ImportReport, ImportError> {
    let jobs = match db {
        Database::Sqlite(_) => 1,
        Database::Pg(_) => options.jobs.max(1),
    };
    let mut report = ImportReport::default();
    let (refused_tx, refused_rx) = mpsc::channel::<RejectedLine>();
    std::thread::scope(|scope| {
        let mut senders = Vec::with_capacity(jobs);
        let mut writers = Vec::with_capacity(jobs);
        for _ in 0..jobs {
            let (tx, rx) = mpsc::sync_channel::<Vec<ImportItem>>(2);
            let refused_tx = refused_tx.clone();
            writers.push(
                scope.spawn(move || -> Result<lifecycle::BatchOutcome, StorageError> {
                    let mut conn = db.get()?;
                    let mut total = lifecycle::BatchOutcome::default();
                    for batch in rx {
                        let out = lifecycle::import_batch(&mut conn, batch, now, options.copy)?;
                        total.add_counts(&out);
                        for (line, reason) in out.rejected {
                            let _ = refused_tx.send(RejectedLine { line, reason });
                        }
                    }
                    Ok(total)
                }),
            );
            senders.push(tx);
        }
        drop(refused_tx);

        let mut buf = Vec::with_capacity(1024);
        let mut batches: Vec<Vec<ImportItem>> =
            (0..jobs).map(|_| Vec::with_capacity(BATCH)).collect();
        let mut line_no = 0;
        let mut reject = |rejected: RejectedLine, report: &mut ImportReport| {
            on_reject(&rejected);
            report.rejected.push(rejected);
        };
        let read_result = loop {
            for refused in refused_rx.try_iter() {
                reject(refused, &mut report);
            }
            match read_bounded_line(&mut input, &mut buf) {
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
                Ok(Some(fits)) => {
                    line_no += 1;
                    let line = buf.trim_ascii();
                    if line.is_empty() {
                        continue;
                    }
                    let parsed = if fits {
                        parse_item(line, line_no)
                    } else {
                        Err(format!("line longer than {MAX_LINE_BYTES} bytes"))
                    };
                    match parsed {
                        Ok(item) => {
                            let job = job_of(item.number(), jobs);
                            let batch = &mut batches[job];
                            batch.push(item);
                            if batch.len() == BATCH
                                && senders[job]
                                    .send(prepared(std::mem::replace(
                                        batch,
                                        Vec::with_capacity(BATCH),
                                    )))
                                    .is_err()
                            {
                                break Ok(()); // the writer stopped; its error is reported below
                            }
                        }
                        Err(reason) => reject(
                            RejectedLine {
                                line: line_no,
                                reason,
                            },
                            &mut report,
                        ),
                    }
                }
            }
        };
        for (batch, tx) in batches.into_iter().zip(&senders) {
            if !batch.is_empty() {
                let _ = tx.send(prepared(batch));
            }
        }
        drop(senders);
        let mut written = lifecycle::BatchOutcome::default();
        let mut failed = None;
        for writer in writers {
            match writer
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
            {
                Ok(out) => written.add_counts(&out),
                Err(e) => failed = failed.or(Some(e)),
            }
        }
        if let Some(e) = failed {
            return Err(e.into());
        }
        for refused in refused_rx.try_iter() {
            reject(refused, &mut report);
        }
        read_result?;
        report.rejected.sort_by_key(|r| r.line);
        report.accepted = written.records + written.event_lines;
        report.event_lines = written.event_lines;
        report.events_recorded = written.events_recorded;
        report.superseded = written.superseded;
        Ok(report)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn bounded_lines() {
        let mut input = Cursor::new(b"ab\ncd".to_vec());
        let mut buf = Vec::new();
        assert_eq!(read_bounded_line(&mut input, &mut buf).unwrap(), Some(true));
        assert_eq!(buf, b"ab\n");
        assert_eq!(read_bounded_line(&mut input, &mut buf).unwrap(), Some(true));
        assert_eq!(buf, b"cd");
        assert_eq!(read_bounded_line(&mut input, &mut buf).unwrap(), None);

        let mut long = vec![b'x'; MAX_LINE_BYTES + 10];
        long.extend_from_slice(b"\nnext\n");
        let mut input = Cursor::new(long);
        assert_eq!(
            read_bounded_line(&mut input, &mut buf).unwrap(),
            Some(false)
        );
        assert_eq!(read_bounded_line(&mut input, &mut buf).unwrap(), Some(true));
        assert_eq!(buf, b"next\n");
    }

    #[test]
    fn parse_line_reports_json_and_field_errors() {
        assert!(parse_line(b"{").unwrap_err().starts_with("invalid JSON"));
        assert!(parse_line(b"[]").unwrap_err().starts_with("invalid JSON"));
        let bad = br#"{"number":"1","name":"x","sex":"M","nationality":"CHN","birth_date":"1990-01-01","address":"a","issuing_authority":"b","classes":["C1"],"first_issued":"2012-03-05","valid_from":"2018-03-05","valid_until":null,"statuses":[],"points":0,"points_cycle_start":"2026-03-05","medical_due":null,"review_due":null,"photo":null,"photo_taken":null}"#;
        let e = parse_line(bad).unwrap_err();
        assert!(e.starts_with("number:"), "{e}");
    }
}
