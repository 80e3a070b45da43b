//! How `elicence verify` shows a verdict: a block per code given on the command line, a line
//! per code of a `--file`, or one JSON object per code with `--json`.

use crate::domain::code::CodeClaims;
use crate::domain::minimal::MinimalClaims;
use crate::offline::{KeySet, Verdict};
use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;
use std::io::{self, Write};

/// Text as an officer reads it, or JSON lines for a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Block,
    Line,
    Json,
}

fn verdict_word(v: &Verdict) -> &'static str {
    if v.is_valid() {
        "VALID"
    } else {
        "INVALID"
    }
}

fn reason_codes(v: &Verdict) -> Vec<&str> {
    v.reasons.iter().map(|r| r.code()).collect()
}

fn valid_until(c: &CodeClaims) -> String {
    until(c.valid_until)
}

fn until(d: Option<chrono::NaiveDate>) -> String {
    d.map_or_else(|| "长期".to_owned(), |d| d.to_string())
}

fn minimal_expires(m: &MinimalClaims) -> String {
    m.expires_at()
        .map_or_else(|| format!("exp {}", m.exp), beijing)
}

fn verdict_at_signing(m: &MinimalClaims) -> &'static str {
    if m.valid_at_signing {
        "valid"
    } else {
        "not valid"
    }
}

/// Beijing time, as the officer's watch shows it.
pub fn beijing(t: DateTime<Utc>) -> String {
    let offset = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    t.with_timezone(&offset).to_rfc3339()
}

fn expires(c: &CodeClaims) -> String {
    c.expires_at()
        .map_or_else(|| format!("exp {}", c.exp), beijing)
}

/// Writes one verdict, labelled with where the code came from.
pub fn write(
    out: &mut impl Write,
    format: Format,
    source: &str,
    v: &Verdict,
    keys: &KeySet,
) -> io::Result<()> {
    let kid = v.key.map(|k| keys.kid(k));
    match format {
        Format::Json => {
            serde_json::to_writer(&mut *out, &Report::new(source, v, kid))?;
            writeln!(out)
        }
        Format::Line => {
            write!(out, "{source}: {}", verdict_word(v))?;
            if !v.is_valid() {
                write!(out, " {}", reason_codes(v).join(","))?;
            }
            if let Some(c) = &v.claims {
                write!(
                    out,
                    " | {} {} {} until {} at signing {} expires {} kid {}",
                    c.name,
                    c.sub,
                    c.classes,
                    valid_until(c),
                    c.status_text(),
                    expires(c),
                    kid.unwrap_or("-")
                )?;
            }
            if let Some(m) = &v.minimal {
                write!(
                    out,
                    " | {} {} until {} for {} at signing {} expires {} kid {}",
                    m.name,
                    m.classes,
                    until(m.valid_until),
                    m.purpose.code(),
                    verdict_at_signing(m),
                    minimal_expires(m),
                    kid.unwrap_or("-")
                )?;
            }
            writeln!(out)
        }
        Format::Block => {
            write!(out, "{source}: {}", verdict_word(v))?;
            if !v.is_valid() {
                write!(out, " ({})", reason_codes(v).join(", "))?;
            }
            writeln!(out)?;
            if let Some(c) = &v.claims {
                for (label, value) in [
                    ("name", c.name.as_str()),
                    ("licence number", &c.sub),
                    ("classes", &c.classes.to_string()),
                    ("valid until", &valid_until(c)),
                    ("status at signing", &c.status_text()),
                    ("code expires at", &expires(c)),
                    ("signed by key", kid.unwrap_or("-")),
                ] {
                    writeln!(out, "  {label:<18} {value}")?;
                }
            }
            if let Some(m) = &v.minimal {
                for (label, value) in [
                    ("name", m.name.as_str()),
                    ("classes", &m.classes.to_string()),
                    ("valid until", &until(m.valid_until)),
                    ("purpose", m.purpose.code()),
                    ("verdict at signing", verdict_at_signing(m)),
                    ("code expires at", &minimal_expires(m)),
                    ("signed by key", kid.unwrap_or("-")),
                ] {
                    writeln!(out, "  {label:<18} {value}")?;
                }
            }
            Ok(())
        }
    }
}

/// One line of `--json`.
#[derive(Serialize)]
struct Report<'a> {
    source: &'a str,
    valid: bool,
    reasons: Vec<&'a str>,
    kid: Option<&'a str>,
    holder: Option<Holder<'a>>,
    /// A minimal code's qualification (with `--purpose rental` and the like).
    #[serde(skip_serializing_if = "Option::is_none")]
    qualification: Option<Qualification<'a>>,
}

#[derive(Serialize)]
struct Qualification<'a> {
    purpose: &'static str,
    name: &'a str,
    classes: Vec<&'static str>,
    /// `null` is long-term (长期).
    valid_until: Option<String>,
    valid_at_signing: bool,
    expires_at: Option<DateTime<Utc>>,
    cti: String,
}

#[derive(Serialize)]
struct Holder<'a> {
    name: &'a str,
    licence_number: &'a str,
    classes: Vec<&'static str>,
    /// `null` is long-term (长期).
    valid_until: Option<String>,
    status_at_signing: String,
    expires_at: Option<DateTime<Utc>>,
    e_licence: i64,
    photo_tag: &'a str,
    jti: &'a str,
}

impl<'a> Report<'a> {
    fn new(source: &'a str, v: &'a Verdict, kid: Option<&'a str>) -> Report<'a> {
        Report {
            source,
            valid: v.is_valid(),
            reasons: reason_codes(v),
            kid,
            holder: v.claims.as_ref().map(|c| Holder {
                name: &c.name,
                licence_number: &c.sub,
                classes: c.classes.codes(),
                valid_until: c.valid_until.map(|d| d.to_string()),
                status_at_signing: c.status_text(),
                expires_at: c.expires_at(),
                e_licence: c.e_licence,
                photo_tag: &c.photo,
                jti: &c.jti,
            }),
            qualification: v.minimal.as_ref().map(|m| Qualification {
                purpose: m.purpose.code(),
                name: &m.name,
                classes: m.classes.codes(),
                valid_until: m.valid_until.map(|d| d.to_string()),
                valid_at_signing: m.valid_at_signing,
                expires_at: m.expires_at(),
                cti: m.jti(),
            }),
        }
    }
}
