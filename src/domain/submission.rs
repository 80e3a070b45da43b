//! A photo submission's closed sets: why it was sent, where the photo came from, and where it
//! stands in the review queue.

super::code_enum! {
    /// Why a photo was sent for review.
    #[derive(utoipa::ToSchema)]
    pub enum SubmissionPurpose {
        /// No e-licence yet: approval generates it.
        FirstApplication,
        /// 更换照片: approval puts the photo on the current e-licence.
        PhotoChange,
    }
}

super::code_enum! {
    /// Where the holder's photo came from.
    #[derive(utoipa::ToSchema)]
    pub enum PhotoSource {
        /// 手机拍照
        Camera,
        /// 相册选择
        Album,
    }
}

super::code_enum! {
    /// Where a submission stands: waiting, decided, or replaced by a newer upload.
    #[derive(utoipa::ToSchema, strum::Display)]
    pub enum SubmissionState {
        PendingReview,
        Approved,
        Rejected,
        /// The holder uploaded again before a decision.
        Superseded,
    }
}

super::code_enum! {
    /// What a reviewer did, as the review audit spells it.
    #[derive(serde::Deserialize, utoipa::ToSchema)]
    pub enum ReviewAction {
        Claim,
        Release,
        /// A claim given back at shutdown because its request was never answered.
        ReleaseUnfinished,
        Approved,
        Rejected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::code_enum_tests::assert_codes;
    use strum::VariantArray;

    #[test]
    fn codes_are_the_stored_ones() {
        assert_codes(
            SubmissionPurpose::VARIANTS,
            &["first_application", "photo_change"],
        );
        assert_codes(PhotoSource::VARIANTS, &["camera", "album"]);
        assert_codes(
            SubmissionState::VARIANTS,
            &["pending_review", "approved", "rejected", "superseded"],
        );
        assert!("pending".parse::<SubmissionState>().is_err());
        assert_codes(
            ReviewAction::VARIANTS,
            &[
                "claim",
                "release",
                "release_unfinished",
                "approved",
                "rejected",
            ],
        );
    }
}
