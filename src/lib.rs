//! Parley: a self-hosted live-chat appliance. `Application::build` is the entry point used by
//! `main` and by the integration tests.
#![forbid(unsafe_code)]

pub mod app;
pub mod auth;
pub mod backup;
pub mod bench;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod http;
pub mod ratelimit;
pub mod realtime;
pub mod service;
pub mod shutdown;
pub mod store;
pub mod systemd;
pub mod telemetry;
pub mod tls;
pub mod util;
pub mod ws;

pub use app::{AppError, Application};
