use super::{open_database, small_pool, CliError};
use crate::clock::{Clock, SystemClock};
use crate::config::PoolSettings;
use crate::registry::import::{import_ndjson_jobs, ImportError, ImportOptions};
use crate::telemetry::metrics::{import_metrics, ImportCounts};
use std::io::BufReader;
use std::path::Path;
use std::time::Instant;

fn import_error(e: ImportError) -> CliError {
    match e {
        ImportError::Storage(s) => CliError::storage(&s),
        other => CliError::new(other),
    }
}

/// Imports a file (or `-`) with `jobs` writers on PostgreSQL (default: one a core), through
/// `COPY` unless `copy` is false: each rejected line is printed to stderr with its number and
/// reason; the exit code is non-zero when any line was rejected.
pub fn run(
    url: &str,
    file: &str,
    metrics_file: Option<&Path>,
    jobs: Option<u32>,
    copy: bool,
) -> Result<(), CliError> {
    let jobs = jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| n as usize,
    );
    let pool = PoolSettings {
        max_size: small_pool().max_size.max(jobs as u32),
        ..small_pool()
    };
    let db = open_database(url, &pool)?;
    let options = ImportOptions { jobs, copy };
    let started = Instant::now();
    let on_reject =
        |r: &crate::registry::import::RejectedLine| eprintln!("line {}: {}", r.line, r.reason);
    let report = if file == "-" {
        import_ndjson_jobs(
            &db,
            std::io::stdin().lock(),
            SystemClock.now(),
            options,
            on_reject,
        )
        .map_err(import_error)?
    } else {
        let f = std::fs::File::open(file).map_err(|e| CliError::new(format!("{file}: {e}")))?;
        import_ndjson_jobs(
            &db,
            BufReader::with_capacity(1 << 20, f),
            SystemClock.now(),
            options,
            on_reject,
        )
        .map_err(import_error)?
    };
    let secs = started.elapsed().as_secs_f64();
    println!(
        "imported {} records, rejected {} lines in {:.2}s ({:.0} records/s) into {}",
        report.accepted - report.event_lines,
        report.rejected.len(),
        secs,
        report.accepted as f64 / secs.max(1e-9),
        db.backend_name()
    );
    if report.events_recorded > 0 || report.event_lines > 0 {
        println!(
            "registry events: {} event lines, {} events recorded ({:.0} events/s), {} e-licences superseded",
            report.event_lines,
            report.events_recorded,
            report.events_recorded as f64 / secs.max(1e-9),
            report.superseded
        );
    }
    if let Some(path) = metrics_file {
        let text = import_metrics(&ImportCounts {
            records: report.accepted - report.event_lines,
            event_lines: report.event_lines,
            rejected: report.rejected.len(),
            seconds: secs,
            finished_unix: SystemClock.now().timestamp(),
        });
        write_whole(path, &text).map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
    }
    if report.rejected.is_empty() {
        Ok(())
    } else {
        Err(CliError::new(format!(
            "{} lines were rejected",
            report.rejected.len()
        )))
    }
}

/// Writes `text` to a file beside `path` and renames it over `path`, so that a collector
/// reading it never sees half a file.
fn write_whole(path: &Path, text: &str) -> std::io::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    std::fs::write(&partial, text)?;
    std::fs::rename(&partial, path)
}
