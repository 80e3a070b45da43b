use super::{parse_instant, CliError};
use crate::clock::{Clock, FixedClock, SystemClock};
use crate::signing::keys::Retirement;
use crate::signing::{KeyRing, KeyState};
use chrono::{DateTime, Duration, Utc};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    /// Folder of the signing keys.
    #[arg(long, env = "ELICENCE_KEYS_DIR", default_value = "keys", global = true)]
    keys_dir: PathBuf,
    /// Act at this instant (RFC 3339) instead of the system clock: what the manifest records,
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
    /// until retired. A running `serve` signs with it within 5 s; the wait before the old key
    /// may be retired counts from now.
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

pub fn run(args: KeysArgs) -> Result<(), CliError> {
    let clock: Box<dyn Clock> = match args.now {
        Some(at) => Box::new(FixedClock::at(at)),
        None => Box::new(SystemClock),
    };
    execute(&args.keys_dir, args.action, clock.as_ref())
}

fn execute(dir: &std::path::Path, action: KeysCommand, clock: &dyn Clock) -> Result<(), CliError> {
    let now = clock.now();
    match action {
        KeysCommand::Generate => println!("{}", KeyRing::generate(dir, now)?),
        KeysCommand::Prepare => {
            println!("{}", KeyRing::prepare(dir, now)?);
            eprintln!(
                "published as the next key (a running `elicence serve` lists it within {} s); \
                 `elicence keys rotate` makes it sign",
                crate::signing::live::RELOAD_EVERY.as_secs()
            );
        }
        KeysCommand::Rotate => {
            let (kid, prepared) = KeyRing::rotate_to_next(dir, now)?;
            println!("{kid}");
            if !prepared {
                eprintln!(
                    "no key was prepared: offline terminals refuse this key's codes \
                     (unknown_kid) until they fetch the JWKS again; `elicence keys prepare` \
                     publishes the next key ahead of time"
                );
            }
            eprintln!(
                "a running `elicence serve` signs with the new key within {} s",
                crate::signing::live::RELOAD_EVERY.as_secs()
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
            KeyRing::retire(dir, &kid, now, when)?;
            println!("retired {kid}");
        }
        KeysCommand::List => list(dir)?,
    }
    Ok(())
}

fn list(dir: &std::path::Path) -> Result<(), CliError> {
    println!(
        "{:<44} {:<8} {:<20} rotated / retired",
        "kid", "state", "created (UTC)"
    );
    for k in KeyRing::list(dir)? {
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
    Ok(())
}
