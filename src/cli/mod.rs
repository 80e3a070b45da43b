//! The `elicence` command.

mod import;
mod keys;
mod serve;
mod token;

use crate::config::{DatabaseUrl, PoolSettings, DEFAULT_DATABASE_URL};
use crate::storage::Database;
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

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run migrations, then serve HTTP.
    Serve(serve::ServeArgs),
    /// Apply pending database migrations.
    Migrate,
    /// Import registry records from an NDJSON file, or `-` for standard input.
    Import { file: String },
    /// Create, list and revoke API tokens.
    Token {
        #[command(subcommand)]
        action: token::TokenCommand,
    },
    /// Manage the Ed25519 signing keys in the keys folder.
    Keys {
        /// Folder of the signing keys.
        #[arg(long, env = "ELICENCE_KEYS_DIR", default_value = "keys", global = true)]
        keys_dir: std::path::PathBuf,
        #[command(subcommand)]
        action: keys::KeysCommand,
    },
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
}

impl<E: std::error::Error> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError::new(e)
    }
}

pub fn open_database(url: &str, pool: &PoolSettings) -> Result<Database, CliError> {
    let url = DatabaseUrl::parse(url).map_err(CliError::usage)?;
    Database::connect(&url, pool)
        .map_err(|e| CliError::new(format!("{} ({}): {e}", url.redacted(), url.backend_name())))
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init("info");
    let result = match cli.command {
        Command::Serve(args) => serve::run(&cli.database_url, args),
        Command::Migrate => migrate(&cli.database_url),
        Command::Import { file } => import::run(&cli.database_url, &file),
        Command::Token { action } => token::run(&cli.database_url, action),
        Command::Keys { keys_dir, action } => keys::run(&keys_dir, action),
        Command::GenRegistry {
            count,
            seed,
            with_photo,
        } => gen_registry(count, seed, with_photo),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.message);
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
