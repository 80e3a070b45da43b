//! `elicence verify`: the offline police terminal. Reads codes (as text, from QR images, or a
//! file of them), verifies them with the published keys (`offline`) and, with
//! `--status-list`, the signed list of revoked and suspended e-licences, prints each verdict.
//! Exit status: 0 every code valid, 1 any invalid (a stale status list makes every code
//! invalid), 2 a usage error (flags, keys, a refused status list, inputs).

mod jwks;
mod output;
mod source;
mod status_list;

use super::CliError;
use crate::clock::{Clock, SystemClock};
use crate::domain::code::scanned;
use crate::domain::purpose::Purpose;
use crate::offline::scan::{self, ScanError};
use crate::offline::{ListInfo, StatusListSet, Verdict, Verifier};
use chrono::{DateTime, Utc};
use output::Format;
use std::io::{self, BufRead, BufWriter, Write};
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Codes, or paths of PNG or JPEG images of their QR codes.
    #[arg(value_name = "CODE_OR_IMAGE", required_unless_present = "file")]
    inputs: Vec<String>,
    /// The published keys: a JWKS file, or the http(s) URL of /.well-known/jwks.json.
    #[arg(long, env = "ELICENCE_JWKS", value_name = "FILE_OR_URL")]
    jwks: String,
    /// The status lists (revoked and suspended e-licences): a list's file or URL
    /// (/api/v1/status-lists/N), a folder of lists (*.jwt), or the aggregation
    /// (/api/v1/status-lists): then the lists the codes point to are fetched. Verified with
    /// the same keys; each list's age is printed on stderr.
    #[arg(long, env = "ELICENCE_STATUS_LIST", value_name = "FILE_OR_URL")]
    status_list: Option<String>,
    /// A file of codes, one a line (blank lines skipped); `-` reads standard input.
    #[arg(long, value_name = "CODES.txt")]
    file: Option<String>,
    /// Check expiry at this instant (RFC 3339) instead of the system clock.
    #[arg(long, value_name = "RFC3339", value_parser = super::parse_instant)]
    now: Option<DateTime<Utc>>,
    /// One JSON object a line per code instead of text.
    #[arg(long)]
    json: bool,
    /// The purpose the codes must be made for: roadside (police, the default) or a minimal
    /// one (rental, insurance, employment); codes for any other purpose are purpose_mismatch.
    #[arg(long, value_enum, default_value_t = Purpose::Roadside)]
    purpose: Purpose,
    /// Threads verifying signatures (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<NonZeroUsize>,
}

/// Why an input gave no code to verify.
#[derive(Debug, thiserror::Error)]
enum InputError {
    #[error("{0}: {1}")]
    Read(String, io::Error),
    #[error("{0}: larger than {max} MiB, not a photo of a QR code", max = MAX_IMAGE_FILE >> 20)]
    TooLarge(String),
    #[error("{0}: {1} (a file of codes is read with --file)")]
    Scan(String, ScanError),
}

/// Largest image file read; decoding has its own limits (`offline::scan`).
const MAX_IMAGE_FILE: u64 = 64 << 20;
/// Codes verified together from a `--file`, so memory stays bounded on any file size.
const FILE_BLOCK: usize = 32 * 1024;

#[derive(Debug, Default)]
struct Tally {
    codes: u64,
    valid: u64,
}

impl Tally {
    fn add(&mut self, verdicts: &[Verdict]) {
        self.codes += verdicts.len() as u64;
        self.valid += verdicts.iter().filter(|v| v.is_valid()).count() as u64;
    }

    fn invalid(&self) -> u64 {
        self.codes - self.valid
    }
}

/// The keys, the instant and the threads every code is verified with, and the status lists
/// with where to fetch those the codes point to.
struct Terminal {
    verifier: Verifier,
    now: DateTime<Utc>,
    threads: usize,
    lists: Option<(Arc<StatusListSet>, status_list::Feed)>,
}

impl Terminal {
    /// Fetches the lists `codes` point to that the terminal lacks (from an aggregation),
    /// then verifies them.
    fn verify(&self, codes: &[String]) -> Result<Vec<Verdict>, CliError> {
        if let Some((set, feed)) = &self.lists {
            let added = feed
                .fill(set, self.verifier.keys(), codes)
                .map_err(CliError::usage)?;
            for info in added {
                show_list(&info, self.now);
            }
        }
        Ok(self.verifier.verify_all(codes, self.now, self.threads))
    }

    fn write(
        &self,
        out: &mut impl Write,
        format: Format,
        source: &str,
        v: &Verdict,
    ) -> io::Result<()> {
        output::write(out, format, source, v, self.verifier.keys())
    }
}

pub fn run(args: VerifyArgs) -> Result<(), CliError> {
    // The clock is read here, at the edge, and handed to the verifier.
    let now = args.now.unwrap_or_else(|| SystemClock.now());
    let (keys, ignored) = jwks::load(&args.jwks).map_err(CliError::usage)?;
    for why in ignored {
        eprintln!("warning: {}: {why}", args.jwks);
    }
    let mut verifier = Verifier::for_purpose(keys, args.purpose);
    let mut lists = None;
    if let Some(source) = &args.status_list {
        let (set, feed) = status_list::open(source, verifier.keys()).map_err(CliError::usage)?;
        for info in set.infos() {
            show_list(&info, now);
        }
        if args.purpose.is_minimal() {
            // Minimal codes carry no e-licence serial (docs/code-format.md, "Purposes").
            eprintln!(
                "warning: {} codes carry no e-licence serial: the status list is not used; \
                 each code's verdict at signing (at most its lifetime old) stands",
                args.purpose.code()
            );
        }
        verifier = verifier.with_check(set.clone());
        lists = Some((set, feed));
    }
    let terminal = Terminal {
        verifier,
        now,
        lists,
        threads: args
            .threads
            .or_else(|| std::thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get),
    };

    let mut sources = Vec::with_capacity(args.inputs.len());
    let mut codes = Vec::with_capacity(args.inputs.len());
    for (i, input) in args.inputs.iter().enumerate() {
        let (source, code) = read_input(i + 1, input).map_err(CliError::usage)?;
        sources.push(source);
        codes.push(code);
    }

    let stdout = io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let mut tally = Tally::default();
    let format = if args.json {
        Format::Json
    } else {
        Format::Block
    };
    let verdicts = terminal.verify(&codes)?;
    for (source, verdict) in sources.iter().zip(&verdicts) {
        terminal.write(&mut out, format, source, verdict)?;
    }
    tally.add(&verdicts);

    if let Some(file) = &args.file {
        let format = if args.json {
            Format::Json
        } else {
            Format::Line
        };
        let started = Instant::now();
        let mut file_tally = Tally::default();
        let reader: Box<dyn BufRead> = if file == "-" {
            Box::new(io::stdin().lock())
        } else {
            let f = std::fs::File::open(file)
                .map_err(|e| CliError::usage(InputError::Read(file.clone(), e)))?;
            Box::new(io::BufReader::with_capacity(1 << 20, f))
        };
        verify_file(reader, file, &terminal, format, &mut out, &mut file_tally)?;
        out.flush()?;
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "{} codes, {} valid, {} invalid, {:.0} codes/s",
            file_tally.codes,
            file_tally.valid,
            file_tally.invalid(),
            file_tally.codes as f64 / secs.max(1e-9)
        );
        tally.codes += file_tally.codes;
        tally.valid += file_tally.valid;
    }
    out.flush()?;
    if tally.invalid() > 0 {
        Err(CliError::quiet(1))
    } else {
        Ok(())
    }
}

/// One line on stderr about a list the terminal holds, and a warning when it is stale or
/// dated in the future.
fn show_list(info: &ListInfo, now: DateTime<Utc>) {
    let (line, warning) = status_list::describe(info, now, output::beijing);
    eprintln!("{line}");
    if let Some(warning) = warning {
        eprintln!("warning: {warning}");
    }
}

/// An argument is an image when a file of that name exists; otherwise it is the code itself.
fn read_input(position: usize, input: &str) -> Result<(String, String), InputError> {
    let path = Path::new(input);
    let looks_like_image = [".png", ".jpg", ".jpeg"]
        .iter()
        .any(|ext| input.to_ascii_lowercase().ends_with(ext));
    if !path.is_file() && !looks_like_image {
        return Ok((format!("code {position}"), scanned(input).to_owned()));
    }
    let bytes = super::read_at_most(path, MAX_IMAGE_FILE)
        .map_err(|e| InputError::Read(input.to_owned(), e))?
        .ok_or_else(|| InputError::TooLarge(input.to_owned()))?;
    let code = scan::decode_qr(&bytes).map_err(|e| InputError::Scan(input.to_owned(), e))?;
    Ok((input.to_owned(), scanned(&code).to_owned()))
}

/// Verifies a file of codes block by block, printing a verdict a line in file order.
fn verify_file(
    mut reader: impl BufRead,
    name: &str,
    terminal: &Terminal,
    format: Format,
    out: &mut impl Write,
    tally: &mut Tally,
) -> Result<(), CliError> {
    let mut line_no = 0usize;
    let mut raw = Vec::new();
    loop {
        let mut lines = Vec::with_capacity(FILE_BLOCK);
        let mut codes = Vec::with_capacity(FILE_BLOCK);
        while codes.len() < FILE_BLOCK {
            raw.clear();
            if reader
                .read_until(b'\n', &mut raw)
                .map_err(|e| CliError::usage(InputError::Read(name.to_owned(), e)))?
                == 0
            {
                break;
            }
            line_no += 1;
            // Bytes that are not UTF-8 cannot be a code; they are verified (and refused) as read.
            let text = String::from_utf8_lossy(&raw);
            let code = scanned(&text);
            if !code.is_empty() {
                lines.push(line_no);
                codes.push(code.to_owned());
            }
        }
        if codes.is_empty() {
            return Ok(());
        }
        let verdicts = terminal.verify(&codes)?;
        for (line, verdict) in lines.iter().zip(&verdicts) {
            terminal.write(out, format, &format!("{name}:{line}"), verdict)?;
        }
        tally.add(&verdicts);
    }
}
