//! One test binary for the whole service, as zero-to-production does: real HTTP against a live
//! server, real SQLite files and a real PostgreSQL server.

mod helpers;
mod images;
mod raw_http;

mod admin;
mod auth;
mod card_images;
mod cli;
mod concurrency;
mod counter;
mod demo;
mod documented_answers;
mod driving_record;
mod e_licence;
mod errors;
mod health;
mod import;
mod key_states;
mod lifecycle;
mod me;
mod metrics;
mod multi_process;
mod offline_verify;
mod openapi;
mod photo_limits;
mod photo_review;
mod private_pg;
mod processes;
mod purposes;
mod review_console;
mod shutdown;
mod slow_clients;
mod status_list;
mod status_list_processes;
mod status_list_shards;
mod storage;
mod storage_faults;
mod verify;
