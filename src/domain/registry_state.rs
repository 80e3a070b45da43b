//! Registry state codes: the states the national registry can put a licence in.
//! Every one of them makes the licence unusable for an e-licence.

use serde::Deserialize;
use strum::{EnumCount, VariantArray};

super::code_enum! {
    #[derive(PartialOrd, Ord, Deserialize, strum::EnumCount)]
    #[strum(parse_err_ty = UnknownState, parse_err_fn = UnknownState::of)]
    pub enum RegistryState {
        /// 扣留: detained by police.
        Detained,
        /// 扣押: seized by police.
        Seized,
        /// 暂扣: suspended.
        Suspended,
        /// 逾期未体检: overdue for the periodic medical exam.
        OverdueMedical,
        /// 逾期未审验: overdue for the periodic review.
        OverdueReview,
        /// 公告停止使用: publicly announced as no longer usable.
        AnnouncedVoid,
        /// 吊销: revoked.
        Revoked,
        /// 撤销: withdrawn.
        Withdrawn,
        /// 注销: cancelled.
        Cancelled,
        /// 注销可恢复: cancelled but recoverable.
        CancelledRecoverable,
        /// 转出: transferred out to another province.
        TransferredOut,
        /// 锁定: locked.
        Locked,
        /// 逾期未换证: overdue for renewal.
        OverdueRenewal,
    }
}

use RegistryState::*;

impl RegistryState {
    pub const ALL: [RegistryState; RegistryState::COUNT] = super::variants(Self::VARIANTS);

    pub fn name_zh(self) -> &'static str {
        match self {
            Detained => "扣留",
            Seized => "扣押",
            Suspended => "暂扣",
            OverdueMedical => "逾期未体检",
            OverdueReview => "逾期未审验",
            AnnouncedVoid => "公告停止使用",
            Revoked => "吊销",
            Withdrawn => "撤销",
            Cancelled => "注销",
            CancelledRecoverable => "注销可恢复",
            TransferredOut => "转出",
            Locked => "锁定",
            OverdueRenewal => "逾期未换证",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown registry state {0:?}")]
pub struct UnknownState(pub String);

impl UnknownState {
    fn of(code: &str) -> UnknownState {
        UnknownState(code.to_owned())
    }
}

/// Storage form of a set of states: sorted codes joined by commas, empty when none.
pub fn states_to_codes(states: &[RegistryState]) -> String {
    states
        .iter()
        .map(|s| s.code())
        .collect::<Vec<_>>()
        .join(",")
}

pub fn states_from_codes(s: &str) -> Result<Vec<RegistryState>, UnknownState> {
    let mut states = s
        .split(',')
        .filter(|p| !p.is_empty())
        .map(str::parse)
        .collect::<Result<Vec<_>, _>>()?;
    states.sort();
    states.dedup();
    Ok(states)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_str_and_serde() {
        for st in RegistryState::ALL {
            assert_eq!(st.code().parse::<RegistryState>().unwrap(), st);
            let json = serde_json::to_string(&st).unwrap();
            assert_eq!(json, format!("\"{}\"", st.code()));
            assert_eq!(serde_json::from_str::<RegistryState>(&json).unwrap(), st);
        }
    }

    #[test]
    fn unknown_codes_are_refused() {
        assert!("SUSPENDED".parse::<RegistryState>().is_err());
        assert!("".parse::<RegistryState>().is_err());
        assert!(serde_json::from_str::<RegistryState>("\"stolen\"").is_err());
    }

    #[test]
    fn storage_form_round_trips_sorted() {
        assert_eq!(states_to_codes(&[]), "");
        assert_eq!(states_from_codes("").unwrap(), vec![]);
        let states = states_from_codes("locked,suspended,locked").unwrap();
        assert_eq!(states, vec![Suspended, Locked]);
        assert_eq!(states_to_codes(&states), "suspended,locked");
        assert!(states_from_codes("suspended,bogus").is_err());
    }
}
