//! The one integration-test binary: every test starts a real parley in-process (or as a child
//! process) and talks to it over real TLS.

mod harness;

mod account;
mod api_errors;
mod assets;
mod audit_report;
mod auth;
mod backup;
mod browser;
mod cases;
mod chat;
mod chat_support;
mod cli;
mod departments;
mod durability;
mod encryption;
mod export;
mod gdpr;
mod keys;
mod ldap;
mod mail;
mod process;
mod rbac;
mod retention;
mod routes;
mod storage;
mod storm;
mod tls;
mod tracking;
mod websocket;
