//! The HTTP layer: thin handlers over `auth`, `domain` and `storage`.

pub mod claims_in_flight;
pub mod error;
pub mod extract;
pub mod limits;
pub mod methods;
pub mod photo_work;
pub mod review_views;
pub mod routes;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod upload;
pub mod views;
