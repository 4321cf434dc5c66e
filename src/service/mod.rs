//! Business rules. HTTP handlers and CLI commands call these; SQL stays in `store`.

pub mod accounts;
pub mod audit;
pub mod cases;
pub mod chat;
pub mod consent;
pub mod departments;
pub mod directory;
pub mod export;
pub mod gdpr;
pub mod hours;
pub mod keys;
pub mod mail;
pub mod operations;
pub mod prechat;
pub mod privacy;
pub mod retention;
pub mod roles;
pub mod sites;
