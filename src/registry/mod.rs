//! The registry feed: bulk NDJSON import, the sample-data generator (with a synthetic
//! portrait for photos on file), and the bundled demo.

pub mod demo;
pub mod generate;
pub mod import;
pub mod portrait;
