//! The bundled demo registry (`serve --demo`): about twenty licences covering every status,
//! class and edge case, with a token for each holder and one for each staff role.

use super::import::{import_ndjson, ImportError};
use crate::auth::{self, AuthError};
use crate::clock::Clock;
use crate::domain::eligibility::evaluate;
use crate::domain::role::Role;
use crate::storage::{licences, Database};

/// Compiled in, so the demo runs from any working directory.
pub const DEMO_REGISTRY: &str = include_str!("../../demo/registry.ndjson");

#[derive(Debug, Clone)]
pub struct DemoToken {
    pub role: Role,
    pub label: String,
    pub secret: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("the bundled demo registry has a bad line {line}: {reason}")]
    BadDemoLine { line: usize, reason: String },
}

/// Loads the demo registry (idempotent) and creates fresh tokens: one per demo holder, then
/// one reviewer, one officer, one admin and one clerk (of the first holder's authority).
pub fn load(db: &Database, clock: &dyn Clock) -> Result<Vec<DemoToken>, DemoError> {
    let report = import_ndjson(db, DEMO_REGISTRY.as_bytes(), clock.now(), |_| {})?;
    if let Some(bad) = report.rejected.first() {
        return Err(DemoError::BadDemoLine {
            line: bad.line,
            reason: bad.reason.clone(),
        });
    }
    let mut conn = db.get().map_err(ImportError::from)?;
    let today = clock.today();
    let mut tokens = Vec::new();
    // The clerk serves the authority of the first (default) demo holder.
    let mut clerk_authority: Option<String> = None;
    for line in DEMO_REGISTRY.lines().filter(|l| !l.trim().is_empty()) {
        let record = super::import::parse_line(line.as_bytes())
            .map_err(|reason| DemoError::BadDemoLine { line: 0, reason })?;
        let stored =
            licences::find(&mut conn, &record.licence.number).map_err(ImportError::from)?;
        let Some(stored) = stored else { continue };
        clerk_authority.get_or_insert_with(|| stored.licence.issuing_authority.clone());
        let verdict = evaluate(&stored.licence, today);
        let summary = if verdict.is_eligible() {
            "eligible".to_owned()
        } else {
            verdict
                .reasons()
                .iter()
                .map(|r| r.code())
                .collect::<Vec<_>>()
                .join("+")
        };
        let label = format!(
            "demo holder {} {} [{}] {}{}",
            stored.licence.number.as_str(),
            stored.licence.name,
            stored.licence.classes.to_codes(),
            summary,
            if stored.has_photo { "" } else { ", no photo" }
        );
        let created = auth::create_token(
            &mut conn,
            Role::Holder,
            Some(stored.licence.number),
            Some(&label),
            clock.now(),
        )?;
        tokens.push(DemoToken {
            role: Role::Holder,
            label,
            secret: created.secret,
        });
    }
    for role in [Role::Reviewer, Role::Officer, Role::Admin] {
        let label = format!("demo {}", role.code());
        let created = auth::create_token(&mut conn, role, None, Some(&label), clock.now())?;
        tokens.push(DemoToken {
            role,
            label,
            secret: created.secret,
        });
    }
    if let Some(authority) = clerk_authority {
        let label = format!("demo clerk at {authority}");
        let created = auth::create_bound_token(
            &mut conn,
            Role::Clerk,
            auth::TokenBinding {
                licence: None,
                scope: Some(&authority),
                label: Some(&label),
            },
            clock.now(),
        )?;
        tokens.push(DemoToken {
            role: Role::Clerk,
            label,
            secret: created.secret,
        });
    }
    Ok(tokens)
}
