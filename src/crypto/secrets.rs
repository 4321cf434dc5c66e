//! Named 32-byte secrets kept in `meta`, each wrapped by the KEK as `<name>.<kek id>`: the
//! blind-index key, the audit-chain key and the chat-token key. Each is created on first use;
//! a copy an older version kept in clear (the chat-token key) is wrapped in place and its clear
//! row deleted in the same transaction; `keys rotate` wraps every one under the next KEK
//! (`store::keyring::wrap_all_under`). So the database file alone yields none of them. Loading
//! and wrapping them is the store's (`store/keyring.rs`); this file names them.

pub const INDEX: &str = "index_key";
pub const AUDIT: &str = "audit_key";
pub const CHAT_TOKEN: &str = "chat_token_key";
/// Every named secret, in the order they are loaded.
pub const NAMES: [&str; 3] = [INDEX, AUDIT, CHAT_TOKEN];
/// Secrets that versions before 0.18 stored in clear under their bare name.
pub const LEGACY_CLEAR: [&str; 1] = [CHAT_TOKEN];
