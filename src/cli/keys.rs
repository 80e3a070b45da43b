use super::{open_database, parse_instant, small_pool, CliError};
use crate::clock::{Clock, FixedClock, SystemClock};
use crate::service::signing_keys::{self, KeysError};
use crate::signing::keys::Retirement;
use crate::signing::{states, KeyState};
use crate::storage::Database;
use chrono::{DateTime, Duration, Utc};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    /// Folder of the private key files (the key states are in the database: --database-url).
    #[arg(long, env = "ELICENCE_KEYS_DIR", default_value = "keys", global = true)]
    keys_dir: PathBuf,
    /// Act at this instant (RFC 3339) instead of the system clock: what the key states record,
    /// and what a retirement is checked against. For tests.
    #[arg(long, value_parser = parse_instant, global = true, hide = true)]
    now: Option<DateTime<Utc>>,
    #[command(subcommand)]
    action: KeysCommand,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate the first signing key (refused when one is active: use rotate).
    Generate,
    /// List keys and their state (never the private part).
    List,
    /// Publish the next key ahead of its rotation, so that offline terminals have it in their
    /// JWKS before it signs anything (prepare at least one terminal sync interval ahead).
    Prepare,
    /// Make the prepared key (or, without one, a new key) active; the old one stays published
    /// until retired. Every running `serve` signs with it within its --keys-reload-ms (2 s by
    /// default); the wait before the old key may be retired counts from now.
    Rotate,
    /// Unpublish a rotated key: the codes it signed stop verifying. Refused until everything
    /// it signed has lapsed: the longest of a display code's and a status list's lifetime
    /// after it was rotated out.
    Retire {
        /// The key's id. A kid is base64url and may start with `-`: it is still the kid.
        #[arg(allow_hyphen_values = true)]
        kid: String,
        /// Seconds a display code lives, as `serve --code-ttl-secs`.
        #[arg(long, env = "ELICENCE_CODE_TTL_SECS", default_value_t = 180)]
        code_ttl_secs: u32,
        /// Seconds a status list may be relied on, as `serve --status-list-lifetime-secs`:
        /// the list is signed with the same key as the codes.
        #[arg(
            long,
            env = "ELICENCE_STATUS_LIST_LIFETIME_SECS",
            default_value_t = 86_400
        )]
        status_list_lifetime_secs: u32,
        /// Retire it now, although codes or a status list it signed may still be in use:
        /// they stop verifying at once.
        #[arg(long)]
        force: bool,
    },
}

pub fn run(database_url: &str, args: KeysArgs) -> Result<(), CliError> {
    let clock: Box<dyn Clock> = match args.now {
        Some(at) => Box::new(FixedClock::at(at)),
        None => Box::new(SystemClock),
    };
    let db = open_database(database_url, &small_pool())?;
    execute(&db, &args.keys_dir, args.action, clock.as_ref()).map_err(|e| match e {
        // Unavailable storage exits 75, so that a script retries the command.
        KeysError::Storage(e) => CliError::storage(&e),
        KeysError::Keys(e) => CliError::new(e),
    })
}

fn execute(
    db: &Database,
    dir: &std::path::Path,
    action: KeysCommand,
    clock: &dyn Clock,
) -> Result<(), KeysError> {
    let now = clock.now();
    match action {
        KeysCommand::Generate => println!(
            "{}",
            signing_keys::change(db, dir, |keys, new_key| states::generate(
                keys, now, new_key
            ))?
        ),
        KeysCommand::Prepare => {
            let kid =
                signing_keys::change(db, dir, |keys, new_key| states::prepare(keys, now, new_key))?;
            println!("{kid}");
            eprintln!(
                "published as the next key: copy {dir}/{kid}.pem (mode 0600) to every host that \
                 runs `elicence serve` (each lists it within its --keys-reload-ms, and is not \
                 ready until it has the file); then `elicence keys rotate` makes it sign",
                dir = dir.display()
            );
        }
        KeysCommand::Rotate => {
            let (kid, prepared) =
                signing_keys::change(db, dir, |keys, new_key| states::rotate(keys, now, new_key))?;
            println!("{kid}");
            if !prepared {
                eprintln!(
                    "no key was prepared: offline terminals refuse this key's codes \
                     (unknown_kid) until they fetch the JWKS again, and other hosts need \
                     {dir}/{kid}.pem copied to them; `elicence keys prepare` publishes the next \
                     key ahead of time",
                    dir = dir.display()
                );
            }
            eprintln!(
                "a running `elicence serve` signs with the new key within its --keys-reload-ms \
                 ({} ms by default)",
                crate::signing::live::RELOAD_EVERY.as_millis()
            );
        }
        KeysCommand::Retire {
            kid,
            code_ttl_secs,
            status_list_lifetime_secs,
            force,
        } => {
            let when = if force {
                Retirement::Forced
            } else {
                let longest = code_ttl_secs.max(status_list_lifetime_secs);
                Retirement::AfterLapse(Duration::seconds(i64::from(longest)))
            };
            signing_keys::change(db, dir, |keys, _| states::retire(keys, &kid, now, when))?;
            println!("retired {kid}");
        }
        KeysCommand::List => list(&signing_keys::load(db, dir)?),
    }
    Ok(())
}

fn list(keys: &[crate::signing::KeySummary]) {
    println!(
        "{:<44} {:<8} {:<20} rotated / retired",
        "kid", "state", "created (UTC)"
    );
    for k in keys {
        let state = match k.state {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Rotated => "rotated",
            KeyState::Retired => "retired",
        };
        let later = [k.rotated_at, k.retired_at]
            .iter()
            .flatten()
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .collect::<Vec<_>>()
            .join(" / ");
        println!(
            "{:<44} {:<8} {:<20} {later}",
            k.kid,
            state,
            k.created_at.format("%Y-%m-%d %H:%M:%S")
        );
    }
}
