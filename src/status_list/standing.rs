//! Which status each issued e-licence gets in the list.
//!
//! The draft gives INVALID (0x01) as "revoked … irreversible" and SUSPENDED (0x02) as
//! "temporarily invalid … reversible". An e-licence is listed from two facts: whether it is
//! still its licence's current e-licence, and what stands in the way of its licence today
//! (`domain::eligibility::evaluate`, the same verdict the online check gives). A reason that
//! the holder or time can clear makes it SUSPENDED; one that ends the licence makes it
//! INVALID; any INVALID reason wins over the temporary ones.
//!
//! The list is computed from the live registry copy, so an INVALID entry can still turn back
//! to VALID if the registry record itself changes back (a renewal that moves `valid_until`, a
//! revocation corrected at the source). Making INVALID final needs the e-licence to be
//! superseded when that happens, which is the lifecycle events' job.

use super::Status;
use crate::domain::eligibility::Reason;
use crate::domain::registry_state::RegistryState;

/// What the database says about one issued e-licence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing<'a> {
    /// A newer e-licence replaced it (state `superseded`).
    Superseded,
    /// Its licence's current e-licence, and every reason its licence may not be used today
    /// (empty when it may).
    Current(&'a [Reason]),
    /// Its licence's current e-licence, but the registry row is missing or unreadable.
    Unreadable,
}

/// The status of one e-licence in the list.
pub fn status_of(standing: Standing<'_>) -> Status {
    match standing {
        // Its codes must never be accepted again: the holder shows the newer one.
        Standing::Superseded => Status::Invalid,
        Standing::Current([]) => Status::Valid,
        Standing::Current(reasons) if reasons.iter().all(is_temporary) => Status::Suspended,
        Standing::Current(_) => Status::Invalid,
        // We cannot vouch for it, and a repaired row brings it back: reversible.
        Standing::Unreadable => Status::Suspended,
    }
}

/// Can this reason end without the licence ending? Exhaustive on purpose: a new registry
/// state does not compile until someone decides.
fn is_temporary(reason: &Reason) -> bool {
    use RegistryState::*;
    match reason {
        // The licence starts on a later day (a renewed licence sent ahead): time clears it.
        Reason::NotYetValid { .. } => true,
        // Past its last valid day the licence itself has lapsed; a renewal is a new licence
        // term, and in China a long-lapsed one is cancelled.
        Reason::Expired { .. } => false,
        // 12 points: cleared by the study course and exam (满分学习), then the licence is back.
        Reason::PointsLimit { .. } => true,
        Reason::Registry(state) => match state {
            // 扣留 / 扣押: held by the police for a case or a period; returned afterwards.
            Detained | Seized => true,
            // 暂扣: suspended for a fixed term.
            Suspended => true,
            // 逾期未体检 / 逾期未审验: cleared by taking the medical exam or the review.
            OverdueMedical | OverdueReview => true,
            // 逾期未换证: overdue for renewal; renewing clears it.
            OverdueRenewal => true,
            // 锁定: an administrative lock, lifted by the authority.
            Locked => true,
            // 注销可恢复: cancelled, but the registry itself says it can be restored.
            CancelledRecoverable => true,
            // 吊销: revoked.
            Revoked => false,
            // 撤销: the grant of the licence is withdrawn.
            Withdrawn => false,
            // 注销: cancelled for good.
            Cancelled => false,
            // 公告停止使用: publicly announced as no longer usable (follows a revocation or a
            // cancellation the holder did not answer).
            AnnouncedVoid => false,
            // 转出: moved to another province's registry; it issues any e-licence from now on.
            TransferredOut => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn day() -> NaiveDate {
        "2026-11-22".parse().unwrap()
    }

    fn state(s: RegistryState) -> Reason {
        Reason::Registry(s)
    }

    #[test]
    fn superseded_is_invalid_and_a_clean_current_one_valid() {
        assert_eq!(status_of(Standing::Superseded), Status::Invalid);
        assert_eq!(status_of(Standing::Current(&[])), Status::Valid);
        assert_eq!(status_of(Standing::Unreadable), Status::Suspended);
    }

    #[test]
    fn each_reason_alone_maps_to_its_status() {
        use RegistryState::*;
        let suspended = [
            Reason::NotYetValid { from: day() },
            Reason::PointsLimit { points: 12 },
            state(Detained),
            state(Seized),
            state(Suspended),
            state(OverdueMedical),
            state(OverdueReview),
            state(OverdueRenewal),
            state(Locked),
            state(CancelledRecoverable),
        ];
        let invalid = [
            Reason::Expired { on: day() },
            state(Revoked),
            state(Withdrawn),
            state(Cancelled),
            state(AnnouncedVoid),
            state(TransferredOut),
        ];
        for r in suspended {
            assert_eq!(
                status_of(Standing::Current(&[r])),
                Status::Suspended,
                "{r:?}"
            );
        }
        for r in invalid {
            assert_eq!(status_of(Standing::Current(&[r])), Status::Invalid, "{r:?}");
        }
        // Every registry state is decided above.
        assert_eq!(
            suspended.len() + invalid.len(),
            RegistryState::ALL.len() + 3
        );
    }

    #[test]
    fn one_lasting_reason_outweighs_any_temporary_ones() {
        use RegistryState::*;
        let temporary = [state(Suspended), Reason::PointsLimit { points: 14 }];
        assert_eq!(status_of(Standing::Current(&temporary)), Status::Suspended);
        let mixed = [
            state(Suspended),
            state(Revoked),
            Reason::PointsLimit { points: 14 },
        ];
        assert_eq!(status_of(Standing::Current(&mixed)), Status::Invalid);
        let expired_and_detained = [Reason::Expired { on: day() }, state(Detained)];
        assert_eq!(
            status_of(Standing::Current(&expired_and_detained)),
            Status::Invalid
        );
    }
}
