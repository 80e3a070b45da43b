//! `elicence gen-codes` (hidden): real signed codes in bulk, for benchmarking the offline
//! terminal (`scripts/bench-offline-verify.sh`). Never touches the server's keys.

use super::CliError;
use crate::clock::{china_date, Clock, SystemClock};
use crate::domain::code::CODE_TYP;
use crate::registry::generate::code_claims;
use crate::signing::{jws, KeyRing};
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct GenCodesArgs {
    #[arg(long)]
    count: u64,
    /// A new folder: gets keys/ (a fresh key ring), codes.txt and jwks.json.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// When every code expires (RFC 3339); default one day from now.
    #[arg(long, value_name = "RFC3339", value_parser = super::parse_instant)]
    expires: Option<DateTime<Utc>>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub fn run(args: GenCodesArgs) -> Result<(), CliError> {
    let now = SystemClock.now();
    let exp = args.expires.unwrap_or(now + Duration::days(1)).timestamp();
    let keys_dir = args.out.join("keys");
    if keys_dir.exists() {
        return Err(CliError::usage(format!(
            "{} exists: gen-codes makes a new key ring in a new folder",
            keys_dir.display()
        )));
    }
    KeyRing::generate(&keys_dir, now)?;
    let ring = KeyRing::open(&keys_dir)?;
    std::fs::write(
        args.out.join("jwks.json"),
        serde_json::to_vec(&ring.jwks())?,
    )?;
    let mut out = BufWriter::new(std::fs::File::create(args.out.join("codes.txt"))?);
    let mut rng = StdRng::seed_from_u64(args.seed);
    let today = china_date(now);
    for i in 0..args.count {
        let claims = serde_json::to_vec(&code_claims(&mut rng, i, today, exp))?;
        writeln!(out, "{}", jws::sign(&ring, CODE_TYP, &claims))?;
    }
    out.flush()?;
    Ok(())
}
