//! The HTTP layer: thin handlers over `auth`, `domain` and `storage`.

pub mod claims_in_flight;
pub mod code_display;
pub mod error;
pub mod extract;
pub mod licence_path;
pub mod limits;
pub mod methods;
pub mod metrics_listener;
pub mod paging;
pub mod photo_intake;
pub mod photo_work;
pub mod registry_views;
pub mod requests;
pub mod responses;
pub mod review_views;
pub mod routes;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod upload;
pub mod views;
