//! Load generators behind `parley bench chat` and `parley bench login-flood`: websocket clients
//! that speak the real chat protocol, the bare tokio-tungstenite relay they are compared with,
//! child-process control (RSS and CPU from /proc) and latency statistics. Loopback only.

pub mod chat;
pub mod client;
pub mod flood;
pub mod process;
pub mod relay;
pub mod report;
pub mod run;
pub mod stats;
