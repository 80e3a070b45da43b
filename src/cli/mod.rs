//! The `elicence` command.

mod gen_codes;
mod import;
mod keys;
mod serve;
mod token;
mod verify;

use crate::config::{DatabaseUrl, PoolSettings, DEFAULT_DATABASE_URL};
use crate::storage::{Database, StorageError};
use crate::telemetry::LogFormat;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "elicence",
    version,
    about = "Electronic driving licence (电子驾驶证) backend"
)]
pub struct Cli {
    /// sqlite://PATH (the default, created on first use) or postgres://USER@HOST:PORT/DB.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    database_url: String,

    /// How log lines are written to standard error: `human` (text) or `json` (one object a
    /// line, the request's id, route pattern, status and latency on its closing line).
    #[arg(long, env = "ELICENCE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human, global = true)]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run migrations, then serve HTTP.
    Serve(serve::ServeArgs),
    /// Apply pending database migrations.
    Migrate,
    /// Import the registry feed from an NDJSON file, or `-` for standard input.
    ///
    /// Each line is a registry record (upserted by number; what changed on a stored licence
    /// is recorded as registry events) or an event line,
    /// `{"number":"…","event":{"type":"status_set","status":"suspended"}}`, with the event
    /// types of `POST /api/v1/admin/licences/{number}/events`. Lines apply in file order.
    Import {
        file: String,
        /// Also write the import's counters (rows, rejects, duration, finish time) to PATH in
        /// the Prometheus text format, replaced whole: for node_exporter's textfile collector
        /// (docs/operations.md).
        #[arg(long, value_name = "PATH")]
        metrics_file: Option<std::path::PathBuf>,
        /// Writers at once on PostgreSQL, each on its own connection (the lines of one
        /// licence always go to the same writer, in file order). Default: the number of
        /// cores here. SQLite always has one writer.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
        jobs: Option<u32>,
        /// PostgreSQL: write records with multi-row upserts, as SQLite does, instead of
        /// `COPY` into a staging table and one set-based upsert a batch. For comparison.
        #[arg(long)]
        no_copy: bool,
    },
    /// Create, list and revoke API tokens.
    Token {
        #[command(subcommand)]
        action: token::TokenCommand,
    },
    /// Manage the Ed25519 signing keys: their states in the database, their files in the
    /// keys folder.
    Keys(keys::KeysArgs),
    /// Verify roadside codes offline with the published keys (the police terminal).
    Verify(verify::VerifyArgs),
    /// Write N generated registry records as NDJSON to standard output.
    GenRegistry {
        #[arg(long)]
        count: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Give every record a photo on file: a synthetic 330×480 JPEG portrait.
        #[arg(long)]
        with_photo: bool,
    },
    /// Sign N sample codes with a new key ring in DIR: DIR/codes.txt and DIR/jwks.json
    /// (benchmarks of `verify --file`).
    #[command(hide = true)]
    GenCodes(gen_codes::GenCodesArgs),
    /// Write a phone-sized (12 MP, ~2 MB) synthetic portrait JPEG to FILE (benchmarks of
    /// photo uploads).
    #[command(hide = true)]
    GenPhoto { out: std::path::PathBuf },
}

/// A failure worth a message and a non-zero exit.
#[derive(Debug)]
pub struct CliError {
    message: String,
    code: u8,
}

impl CliError {
    pub fn new(message: impl std::fmt::Display) -> Self {
        CliError {
            message: message.to_string(),
            code: 1,
        }
    }

    fn usage(message: impl std::fmt::Display) -> Self {
        CliError {
            message: message.to_string(),
            code: 2,
        }
    }

    /// The database is unavailable (full, read-only, gone): exit 75 (EX_TEMPFAIL), so that
    /// a script or a scheduler retries later rather than treating it as bad input.
    fn storage(e: &StorageError) -> Self {
        CliError {
            message: match e.fault() {
                Some(_) => format!("{e} (retry once the database takes writes again)"),
                None => e.to_string(),
            },
            code: if e.fault().is_some() { EX_TEMPFAIL } else { 1 },
        }
    }

    /// An exit status alone: what went wrong has been printed already.
    fn quiet(code: u8) -> Self {
        CliError {
            message: String::new(),
            code,
        }
    }
}

impl<E: std::error::Error> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError::new(e)
    }
}

/// The bytes of a file, or `None` when it holds more than `max`: inputs are read whole, so a
/// huge file is refused instead of read.
fn read_at_most(path: &std::path::Path, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(max + 1)
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= max).then_some(bytes))
}

/// A `--now`-style flag: an instant in RFC 3339.
fn parse_instant(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("{e} (expected RFC 3339, e.g. 2026-11-22T04:00:00Z)"))
}

pub fn open_database(url: &str, pool: &PoolSettings) -> Result<Database, CliError> {
    let url = DatabaseUrl::parse(url).map_err(CliError::usage)?;
    Database::connect(&url, pool).map_err(|e| {
        let mut error = CliError::storage(&e);
        error.message = format!(
            "{} ({}): {}",
            url.redacted(),
            url.backend_name(),
            error.message
        );
        error
    })
}

/// sysexits.h: a temporary failure; the user is invited to retry.
const EX_TEMPFAIL: u8 = 75;

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init_with("info", cli.log_format);
    let result = match cli.command {
        Command::Serve(args) => serve::run(&cli.database_url, args),
        Command::Migrate => migrate(&cli.database_url),
        Command::Import {
            file,
            metrics_file,
            jobs,
            no_copy,
        } => import::run(
            &cli.database_url,
            &file,
            metrics_file.as_deref(),
            jobs,
            !no_copy,
        ),
        Command::Token { action } => token::run(&cli.database_url, action),
        Command::Keys(args) => keys::run(&cli.database_url, args),
        Command::GenRegistry {
            count,
            seed,
            with_photo,
        } => gen_registry(count, seed, with_photo),
        Command::Verify(args) => verify::run(args),
        Command::GenCodes(args) => gen_codes::run(args),
        Command::GenPhoto { out } => {
            std::fs::write(&out, crate::registry::portrait::phone_jpeg(92)).map_err(CliError::new)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.message.is_empty() {
                eprintln!("error: {}", e.message);
            }
            ExitCode::from(e.code)
        }
    }
}

fn small_pool() -> PoolSettings {
    PoolSettings {
        max_size: 2,
        ..PoolSettings::default()
    }
}

fn migrate(url: &str) -> Result<(), CliError> {
    // Opening the database applies pending migrations.
    let db = open_database(url, &small_pool())?;
    println!("database ({}) is on the current schema", db.backend_name());
    Ok(())
}

fn gen_registry(count: u64, seed: u64, with_photo: bool) -> Result<(), CliError> {
    use crate::clock::{Clock, SystemClock};
    use crate::registry::{generate, portrait};
    let stdout = std::io::stdout().lock();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout);
    let photo = with_photo.then(|| portrait::jpeg(330, 480));
    generate::write_ndjson_with_photo(
        &mut out,
        count,
        seed,
        SystemClock.today(),
        photo.as_deref(),
    )?;
    Ok(())
}
