//! The mappings of the use cases' errors to HTTP, one per use case, so that no handler
//! writes its own.

use super::ApiError;
use crate::http::views::reason_view;
use crate::i18n::Lang;
use crate::service::current_e_licence::CurrentError;
use crate::service::photo_review::ReviewError;

/// The one mapping of the review use case's errors to HTTP.
pub fn review_error(e: ReviewError, lang: Lang) -> ApiError {
    match e {
        ReviewError::LicenceNotFound => ApiError::LicenceNotFound,
        ReviewError::NotEligible(why) => {
            ApiError::NotEligible(why.iter().map(|r| reason_view(r, lang)).collect())
        }
        ReviewError::ELicenceExists => ApiError::ELicenceExists,
        ReviewError::ELicenceNotFound => ApiError::ELicenceNotFound,
        ReviewError::SubmissionNotFound => ApiError::SubmissionNotFound,
        ReviewError::NotPending(state) => ApiError::AlreadyDecided(state.to_string()),
        ReviewError::ClaimedByOther(until) => ApiError::ClaimedByOther(until),
        ReviewError::ClaimRequired => ApiError::ClaimRequired,
        ReviewError::Storage(s) => s.into(),
    }
}

/// No current e-licence: never issued (404) or superseded by a licence change (410).
impl From<CurrentError> for ApiError {
    fn from(e: CurrentError) -> Self {
        match e {
            CurrentError::NeverIssued => ApiError::ELicenceNotFound,
            CurrentError::Superseded(reason) => ApiError::ELicenceSuperseded(reason),
            CurrentError::LicenceNotFound => ApiError::LicenceNotFound,
            CurrentError::Storage(s) => s.into(),
        }
    }
}
