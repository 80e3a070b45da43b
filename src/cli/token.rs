use super::{open_database, small_pool, CliError};
use crate::auth;
use crate::clock::{Clock, SystemClock};
use crate::domain::licence::LicenceNumber;
use crate::domain::purpose::Purpose;
use crate::domain::role::Role;
use crate::storage::tokens;
use clap::Subcommand;
use std::io::Write;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it, alone, on stdout. It is shown only this once.
    Create {
        #[arg(long, value_enum)]
        role: Role,
        /// The licence a holder token is bound to (holders only).
        #[arg(long, conflicts_with = "licence_file")]
        licence: Option<String>,
        /// Holders only: one token for each licence number in FILE (one a line), printed as
        /// `NUMBER TOKEN` lines; all are created in one transaction, or none.
        #[arg(long)]
        licence_file: Option<std::path::PathBuf>,
        /// The issuing authority a clerk token serves (clerks only), e.g. 北京市公安局公安交通管理局.
        #[arg(long, conflicts_with = "purpose")]
        authority: Option<String>,
        /// The purpose a partner token verifies (partners only).
        #[arg(long, value_parser = partner_purpose())]
        purpose: Option<Purpose>,
        #[arg(long)]
        label: Option<String>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by its id (tok_…).
    Revoke { id: String },
}

/// The purposes a partner token can have, offered and parsed as clap does a `ValueEnum`:
/// the minimal ones of the domain's `Purpose` (roadside is the officers').
fn partner_purpose() -> impl clap::builder::TypedValueParser<Value = Purpose> {
    use clap::builder::TypedValueParser;
    use clap::ValueEnum;
    clap::builder::PossibleValuesParser::new(
        Purpose::minimal().filter_map(|p| p.to_possible_value()),
    )
    .try_map(|code| code.parse::<Purpose>())
}

pub fn run(url: &str, action: TokenCommand) -> Result<(), CliError> {
    let db = open_database(url, &small_pool())?;
    let mut conn = db.get()?;
    match action {
        TokenCommand::Create {
            role,
            licence_file: Some(file),
            label,
            ..
        } => create_for_each(&mut conn, role, &file, label.as_deref())?,
        TokenCommand::Create {
            role,
            licence,
            label,
            licence_file: None,
            authority,
            purpose,
        } => {
            let licence = licence
                .as_deref()
                .map(LicenceNumber::parse)
                .transpose()
                .map_err(CliError::usage)?;
            let scope = authority.as_deref().or(purpose.map(Purpose::code));
            let created = auth::create_bound_token(
                &mut conn,
                role,
                auth::TokenBinding {
                    licence,
                    scope,
                    label: label.as_deref(),
                },
                SystemClock.now(),
            )?;
            eprintln!("created token {} ({})", created.id, role.code());
            println!("{}", created.secret);
        }
        TokenCommand::List => {
            println!(
                "{:<18} {:<9} {:<20} {:<20} {:<9} label",
                "id", "role", "licence/scope", "created (UTC)", "state"
            );
            for t in tokens::list(&mut conn)? {
                println!(
                    "{:<18} {:<9} {:<20} {:<20} {:<9} {}",
                    t.id,
                    t.role.code(),
                    t.licence_number
                        .as_deref()
                        .or(t.scope.as_deref())
                        .unwrap_or("-"),
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

fn create_for_each(
    conn: &mut crate::storage::DbConn,
    role: Role,
    file: &std::path::Path,
    label: Option<&str>,
) -> Result<(), CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::usage(format!("{}: {e}", file.display())))?;
    let numbers = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, l)| {
            LicenceNumber::parse(l).map_err(|e| CliError::usage(format!("line {}: {e}", i + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let now = SystemClock.now();
    let created = conn.write_transaction(|conn| {
        numbers
            .iter()
            .map(|n| auth::create_token(conn, role, Some(n.clone()), label, now))
            .collect::<Result<Vec<_>, auth::AuthError>>()
    })?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (number, token) in numbers.iter().zip(&created) {
        writeln!(out, "{} {}", number.as_str(), token.secret)?;
    }
    out.flush()?;
    eprintln!("created {} {} tokens", created.len(), role.code());
    Ok(())
}
