//! Rendering of the roadside codes (being written).
