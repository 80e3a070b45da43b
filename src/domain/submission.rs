//! A photo submission's closed sets: why it was sent, where the photo came from, and where it
//! stands in the review queue.

use serde::Serialize;

/// Why a photo was sent for review.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    utoipa::ToSchema,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SubmissionPurpose {
    /// No e-licence yet: approval generates it.
    FirstApplication,
    /// 更换照片: approval puts the photo on the current e-licence.
    PhotoChange,
}

/// Where the holder's photo came from.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    utoipa::ToSchema,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum PhotoSource {
    /// 手机拍照
    Camera,
    /// 相册选择
    Album,
}

/// Where a submission stands: waiting, decided, or replaced by a newer upload.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    utoipa::ToSchema,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SubmissionState {
    PendingReview,
    Approved,
    Rejected,
    /// The holder uploaded again before a decision.
    Superseded,
}

impl SubmissionPurpose {
    pub fn code(self) -> &'static str {
        self.into()
    }
}

impl PhotoSource {
    pub fn code(self) -> &'static str {
        self.into()
    }
}

impl SubmissionState {
    pub fn code(self) -> &'static str {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray;

    fn round_trips<T>(all: &[T], stored: &[&str])
    where
        T: Copy + std::fmt::Debug + PartialEq + Serialize + Into<&'static str>,
        T: std::str::FromStr,
    {
        let codes: Vec<&'static str> = all.iter().map(|v| (*v).into()).collect();
        assert_eq!(codes, stored, "the stored codes (the migrations' CHECKs)");
        for (v, code) in all.iter().zip(stored) {
            assert!(code.parse::<T>().is_ok_and(|p| p == *v));
            assert_eq!(serde_json::to_string(v).unwrap(), format!("\"{code}\""));
        }
    }

    #[test]
    fn codes_are_the_stored_ones() {
        round_trips(
            SubmissionPurpose::VARIANTS,
            &["first_application", "photo_change"],
        );
        round_trips(PhotoSource::VARIANTS, &["camera", "album"]);
        round_trips(
            SubmissionState::VARIANTS,
            &["pending_review", "approved", "rejected", "superseded"],
        );
        assert!("pending".parse::<SubmissionState>().is_err());
    }
}
