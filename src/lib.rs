//! elicence: issues electronic driving licences (电子驾驶证).
//!
//! Layers, from the inside out:
//! - `domain`: pure rules (classes, registry states, eligibility, record validation);
//! - `clock`, `i18n`, `config`: injected time, the two languages, settings;
//! - `storage`: the only module that talks to the database (SQLite or PostgreSQL);
//! - `auth`: bearer tokens and roles;
//! - `registry`: bulk import and the sample data generator;
//! - `offline`: verification of roadside codes with the published keys, no I/O;
//! - `status_list`: the signed list of revoked and suspended e-licences (Token Status List);
//! - `http`: thin actix-web handlers, the error shape, the OpenAPI document;
//! - `cli`: the `elicence` command.

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod http;
pub mod i18n;
pub mod offline;
pub mod photo;
pub mod registry;
pub mod render;
pub mod service;
pub mod signing;
pub mod status_list;
pub mod storage;
pub mod telemetry;
