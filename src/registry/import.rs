//! Bulk import of registry records, one JSON object a line (NDJSON).
//!
//! Every line is parsed and validated on its own; bad lines are reported with their number and
//! reason and skipped, good lines are upserted by licence number. Parsing runs on the calling
//! thread while a writer thread commits batches, each in one transaction, so a line is either
//! wholly written or not at all.

use crate::domain::record::{RegistryRecord, ValidRecord};
use crate::storage::{licences, Database, StorageError};
use chrono::{DateTime, Utc};
use std::io::{BufRead, Read};
use std::sync::mpsc;

/// A line may hold a photo (2 MiB, base64) and the rest of the record.
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;
/// Records per transaction.
const BATCH: usize = 5_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedLine {
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Lines that passed validation and were written.
    pub accepted: usize,
    pub rejected: Vec<RejectedLine>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading the input failed: {0}")]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Parses and validates one line.
pub fn parse_line(line: &[u8]) -> Result<ValidRecord, String> {
    let record: RegistryRecord =
        serde_json::from_slice(line).map_err(|e| format!("invalid JSON: {e}"))?;
    record.validate().map_err(|errors| {
        errors
            .iter()
            .map(|e| format!("{}: {} ({})", e.field, e.message, e.code))
            .collect::<Vec<_>>()
            .join("; ")
    })
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
fn prepared(mut batch: Vec<ValidRecord>) -> Vec<ValidRecord> {
    crate::photo::prepare_all(&mut batch);
    batch
}

/// Imports `input` into `db`. `on_reject` hears of each bad line as it is found.
pub fn import_ndjson(
    db: &Database,
    mut input: impl BufRead,
    now: DateTime<Utc>,
    mut on_reject: impl FnMut(&RejectedLine),
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    let (tx, rx) = mpsc::sync_channel::<Vec<ValidRecord>>(2);
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> Result<usize, StorageError> {
            let mut conn = db.get()?;
            let mut written = 0;
            for batch in rx {
                licences::upsert_many(&mut conn, &batch, now)?;
                written += batch.len();
            }
            Ok(written)
        });

        let mut buf = Vec::with_capacity(1024);
        let mut batch = Vec::with_capacity(BATCH);
        let mut line_no = 0;
        let read_result = loop {
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
                        parse_line(line)
                    } else {
                        Err(format!("line longer than {MAX_LINE_BYTES} bytes"))
                    };
                    match parsed {
                        Ok(record) => {
                            batch.push(record);
                            if batch.len() == BATCH
                                && tx
                                    .send(prepared(std::mem::replace(
                                        &mut batch,
                                        Vec::with_capacity(BATCH),
                                    )))
                                    .is_err()
                            {
                                break Ok(()); // the writer stopped; its error is reported below
                            }
                        }
                        Err(reason) => {
                            let rejected = RejectedLine {
                                line: line_no,
                                reason,
                            };
                            on_reject(&rejected);
                            report.rejected.push(rejected);
                        }
                    }
                }
            }
        };
        if !batch.is_empty() {
            let _ = tx.send(prepared(batch));
        }
        drop(tx);
        let written = writer
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        read_result?;
        report.accepted = written;
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
