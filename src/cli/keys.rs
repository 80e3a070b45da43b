use super::CliError;
use crate::clock::{Clock, SystemClock};
use crate::signing::{KeyRing, KeyState};
use clap::Subcommand;
use std::path::Path;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate the first signing key (refused when one is active: use rotate).
    Generate,
    /// List keys and their state (never the private part).
    List,
    /// Make a new key active; the old one stays published until retired.
    Rotate,
    /// Unpublish a rotated key: the codes it signed stop verifying. Do this once they lapsed.
    Retire { kid: String },
}

pub fn run(dir: &Path, action: KeysCommand) -> Result<(), CliError> {
    let now = SystemClock.now();
    match action {
        KeysCommand::Generate => println!("{}", KeyRing::generate(dir, now)?),
        KeysCommand::Rotate => {
            let kid = KeyRing::rotate(dir, now)?;
            println!("{kid}");
            eprintln!("restart `elicence serve` to sign with the new key");
        }
        KeysCommand::Retire { kid } => {
            KeyRing::retire(dir, &kid, now)?;
            println!("retired {kid}");
        }
        KeysCommand::List => {
            println!(
                "{:<44} {:<8} {:<20} rotated / retired",
                "kid", "state", "created (UTC)"
            );
            for k in KeyRing::list(dir)? {
                let state = match k.state {
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
    }
    Ok(())
}
