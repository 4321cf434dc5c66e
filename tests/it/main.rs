//! The one integration-test binary: every test starts a real parley in-process (or as a child
//! process) and talks to it over real TLS.

// A failed step in a test is a failed test: unwrap, expect and panic are how tests say so (the
// crate denies them everywhere else, see [lints] in Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

mod access_log;
mod account;
mod api_errors;
mod assets;
mod audit_chain;
mod audit_report;
mod auth;
mod backup;
mod browser;
mod burst;
mod cases;
mod chat;
mod chat_support;
mod cli;
mod consent;
mod departments;
mod durability;
mod encryption;
mod erasure;
mod export;
mod footprint;
mod gdpr;
mod install;
mod keys;
mod ldap;
mod listeners;
mod mail;
mod metrics;
mod openapi;
mod process;
mod rbac;
mod resume;
mod retention;
mod routes;
mod storage;
mod storm;
mod team_scope;
mod tls;
mod tracking;
mod transcript_mail;
mod websocket;
mod wrapped_secrets;
