//! The mappings of the use cases' errors to HTTP, one per use case, so that no handler
//! writes its own: handlers use `?`. Reasons stay domain values here; the response puts
//! them in the caller's language.

use super::ApiError;
use crate::http::photo_work::photo_on_file_changing;
use crate::service::counter::CounterError;
use crate::service::current_e_licence::CurrentError;
use crate::service::issuance::IssueError;
use crate::service::lifecycle::LifecycleError;
use crate::service::photo_review::ReviewError;

impl From<ReviewError> for ApiError {
    fn from(e: ReviewError) -> Self {
        match e {
            ReviewError::LicenceNotFound => ApiError::LicenceNotFound,
            ReviewError::NotEligible(why) => ApiError::NotEligible(why),
            ReviewError::ELicenceExists => ApiError::ELicenceExists,
            ReviewError::ELicenceNotFound => ApiError::ELicenceNotFound,
            ReviewError::SubmissionNotFound => ApiError::SubmissionNotFound,
            ReviewError::NotPending(state) => ApiError::AlreadyDecided(state.to_string()),
            ReviewError::ClaimedByOther(until) => ApiError::ClaimedByOther(until),
            ReviewError::ClaimRequired => ApiError::ClaimRequired,
            ReviewError::Storage(s) => s.into(),
        }
    }
}

impl From<IssueError> for ApiError {
    fn from(e: IssueError) -> Self {
        match e {
            IssueError::LicenceNotFound => ApiError::LicenceNotFound,
            IssueError::PhotoRequired => ApiError::PhotoRequired,
            IssueError::PhotoOnFileUnusable(codes) => ApiError::PhotoOnFileUnusable(codes),
            IssueError::NotEligible(reasons) => ApiError::NotEligible(reasons),
            IssueError::PhotoNotPrepared => photo_on_file_changing(),
            IssueError::Storage(s) => s.into(),
        }
    }
}

impl From<CounterError> for ApiError {
    fn from(e: CounterError) -> Self {
        match e {
            CounterError::LicenceNotFound => ApiError::LicenceNotFound,
            CounterError::OtherAuthority => ApiError::OtherAuthority,
            CounterError::NotEligible(why) => ApiError::NotEligible(why),
            CounterError::ELicenceExists => ApiError::ELicenceExists,
            CounterError::PhotoRequired => ApiError::PhotoRequired,
            CounterError::PhotoOnFileUnusable(codes) => ApiError::PhotoOnFileUnusable(codes),
            CounterError::PhotoNotPrepared => photo_on_file_changing(),
            CounterError::Storage(s) => s.into(),
        }
    }
}

impl From<LifecycleError> for ApiError {
    fn from(e: LifecycleError) -> Self {
        match e {
            LifecycleError::LicenceNotFound => ApiError::LicenceNotFound,
            LifecycleError::InvalidEvent(errors) => ApiError::InvalidEvent(errors),
            LifecycleError::Storage(s) => s.into(),
        }
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
