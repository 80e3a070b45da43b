//! The life of the keys as rules over their states, wherever the states are kept (the
//! `signing_keys` table, or a `keyring.json` manifest for the offline tools and the import):
//! `next` → `active` → `rotated` → `retired` (see `keys.rs`).
//!
//! Each rule changes a list of states in memory; the caller loads it and saves it in one
//! transaction. A key file is made only through `new_key`, so a rule that refuses makes none.

use super::keys::{KeyError, KeyState, KeySummary, Retirement};
use chrono::{DateTime, Utc};

/// Makes a new private key file and returns its kid.
pub type NewKey<'a> = &'a mut dyn FnMut() -> Result<String, KeyError>;

fn with_state(keys: &[KeySummary], state: KeyState) -> Option<&KeySummary> {
    keys.iter().find(|k| k.state == state)
}

fn push(keys: &mut Vec<KeySummary>, kid: &str, state: KeyState, now: DateTime<Utc>) {
    keys.push(KeySummary {
        kid: kid.to_owned(),
        state,
        created_at: now,
        activated_at: (state == KeyState::Active).then_some(now),
        rotated_at: None,
        retired_at: None,
    });
}

/// The first active key. Refused when one exists: that is `rotate`'s job.
pub fn generate(
    keys: &mut Vec<KeySummary>,
    now: DateTime<Utc>,
    new_key: NewKey<'_>,
) -> Result<String, KeyError> {
    if let Some(active) = with_state(keys, KeyState::Active) {
        return Err(KeyError::AlreadyActive(active.kid.clone()));
    }
    let kid = new_key()?;
    push(keys, &kid, KeyState::Active, now);
    Ok(kid)
}

/// Publishes the next key ahead of its rotation. Refused without an active key or when one
/// is prepared already.
pub fn prepare(
    keys: &mut Vec<KeySummary>,
    now: DateTime<Utc>,
    new_key: NewKey<'_>,
) -> Result<String, KeyError> {
    if with_state(keys, KeyState::Active).is_none() {
        return Err(KeyError::NoActiveKey("the key states".into()));
    }
    if let Some(next) = with_state(keys, KeyState::Next) {
        return Err(KeyError::AlreadyPrepared(next.kid.clone()));
    }
    let kid = new_key()?;
    push(keys, &kid, KeyState::Next, now);
    Ok(kid)
}

/// The prepared key, or else a new one, becomes active; the old active key stays published
/// as `rotated`. Returns the new active kid and whether it was the prepared one.
pub fn rotate(
    keys: &mut Vec<KeySummary>,
    now: DateTime<Utc>,
    new_key: NewKey<'_>,
) -> Result<(String, bool), KeyError> {
    let prepared = keys.iter().position(|k| k.state == KeyState::Next);
    let new_kid = match prepared {
        Some(_) => None,
        None => Some(new_key()?),
    };
    for entry in keys.iter_mut().filter(|k| k.state == KeyState::Active) {
        entry.state = KeyState::Rotated;
        entry.rotated_at = Some(now);
    }
    match (prepared, new_kid) {
        (Some(i), _) => {
            keys[i].state = KeyState::Active;
            keys[i].activated_at = Some(now);
            Ok((keys[i].kid.clone(), true))
        }
        (None, Some(kid)) => {
            push(keys, &kid, KeyState::Active, now);
            Ok((kid, false))
        }
        (None, None) => unreachable!("a new key is made when none is prepared"),
    }
}

/// Unpublishes a rotated key: codes it signed no longer verify. Refused while they may still
/// be live (see [`Retirement`]), counted from when it was rotated out.
pub fn retire(
    keys: &mut [KeySummary],
    kid: &str,
    now: DateTime<Utc>,
    when: Retirement,
) -> Result<(), KeyError> {
    let entry = keys
        .iter_mut()
        .find(|k| k.kid == kid)
        .ok_or_else(|| KeyError::UnknownKid(kid.to_owned()))?;
    match entry.state {
        KeyState::Active => return Err(KeyError::RetireActive(kid.to_owned())),
        KeyState::Retired => return Ok(()),
        // It never signed anything: nothing can be relied on.
        KeyState::Next => {}
        KeyState::Rotated => {
            if let Retirement::AfterLapse(lifetime) = when {
                let lapsed = entry.rotated_at.is_some_and(|at| now >= at + lifetime);
                if !lapsed {
                    return Err(KeyError::StillInUse {
                        kid: kid.to_owned(),
                        rotated_at: entry.rotated_at,
                        lifetime,
                    });
                }
            }
        }
    }
    entry.state = KeyState::Retired;
    entry.retired_at = Some(now);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-22T04:00:00Z".parse().unwrap()
    }

    fn counter() -> impl FnMut() -> Result<String, KeyError> {
        let mut n = 0;
        move || {
            n += 1;
            Ok(format!("k{n}"))
        }
    }

    fn states(keys: &[KeySummary]) -> Vec<(&str, KeyState)> {
        keys.iter().map(|k| (k.kid.as_str(), k.state)).collect()
    }

    #[test]
    fn rotations_leave_exactly_one_active_key_and_record_when() {
        let mut keys = Vec::new();
        let mut new_key = counter();
        generate(&mut keys, now(), &mut new_key).unwrap();
        let later = now() + chrono::Duration::hours(1);
        assert_eq!(
            prepare(&mut keys, now(), &mut new_key).unwrap(),
            "k2".to_owned()
        );
        assert_eq!(
            rotate(&mut keys, later, &mut new_key).unwrap(),
            ("k2".into(), true)
        );
        assert_eq!(
            rotate(&mut keys, later, &mut new_key).unwrap(),
            ("k3".into(), false)
        );
        assert_eq!(
            states(&keys),
            [
                ("k1", KeyState::Rotated),
                ("k2", KeyState::Rotated),
                ("k3", KeyState::Active)
            ]
        );
        assert_eq!(keys[1].activated_at, Some(later));
        assert_eq!(keys[1].rotated_at, Some(later));
        assert_eq!(keys[0].activated_at, Some(now()));
    }

    #[test]
    fn a_refused_rule_makes_no_key_file() {
        let mut keys = Vec::new();
        let mut made = 0;
        let mut new_key = || -> Result<String, KeyError> {
            made += 1;
            Ok(format!("k{made}"))
        };
        assert!(matches!(
            prepare(&mut keys, now(), &mut new_key),
            Err(KeyError::NoActiveKey(_))
        ));
        generate(&mut keys, now(), &mut new_key).unwrap();
        assert!(matches!(
            generate(&mut keys, now(), &mut new_key),
            Err(KeyError::AlreadyActive(_))
        ));
        prepare(&mut keys, now(), &mut new_key).unwrap();
        assert!(matches!(
            prepare(&mut keys, now(), &mut new_key),
            Err(KeyError::AlreadyPrepared(_))
        ));
        assert_eq!(made, 2);
    }
}
