use super::{open_database, small_pool, CliError};
use crate::auth;
use crate::clock::{Clock, SystemClock};
use crate::domain::licence::LicenceNumber;
use crate::domain::role::Role;
use crate::storage::tokens;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it, alone, on stdout. It is shown only this once.
    Create {
        #[arg(long, value_enum)]
        role: Role,
        /// The licence a holder token is bound to (holders only).
        #[arg(long)]
        licence: Option<String>,
        #[arg(long)]
        label: Option<String>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by its id (tok_…).
    Revoke { id: String },
}

pub fn run(url: &str, action: TokenCommand) -> Result<(), CliError> {
    let db = open_database(url, &small_pool())?;
    let mut conn = db.get()?;
    match action {
        TokenCommand::Create {
            role,
            licence,
            label,
        } => {
            let licence = licence
                .as_deref()
                .map(LicenceNumber::parse)
                .transpose()
                .map_err(CliError::usage)?;
            let created = auth::create_token(
                &mut conn,
                role,
                licence,
                label.as_deref(),
                SystemClock.now(),
            )?;
            eprintln!("created token {} ({})", created.id, role.code());
            println!("{}", created.secret);
        }
        TokenCommand::List => {
            println!(
                "{:<18} {:<9} {:<20} {:<20} {:<9} label",
                "id", "role", "licence", "created (UTC)", "state"
            );
            for t in tokens::list(&mut conn)? {
                println!(
                    "{:<18} {:<9} {:<20} {:<20} {:<9} {}",
                    t.id,
                    t.role,
                    t.licence_number.as_deref().unwrap_or("-"),
                    t.created_at.format("%Y-%m-%d %H:%M:%S"),
                    if t.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    },
                    t.label.as_deref().unwrap_or("")
                );
            }
        }
        TokenCommand::Revoke { id } => {
            if tokens::revoke(&mut conn, &id, SystemClock.now())? {
                println!("revoked {id}");
            } else {
                return Err(CliError::new(format!("no active token {id}")));
            }
        }
    }
    Ok(())
}
