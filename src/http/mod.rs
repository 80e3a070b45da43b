//! The HTTP layer: thin handlers over `auth`, `domain` and `storage`.

pub mod error;
pub mod extract;
pub mod limits;
pub mod methods;
pub mod metrics_listener;
pub mod photo_work;
pub mod review_views;
pub mod routes;
pub mod startup;
pub mod state;
pub mod upload;
pub mod views;
