//! The registry feed: bulk NDJSON import, the sample-data generator, and the bundled demo.

pub mod demo;
pub mod generate;
pub mod import;
