//! Staff authentication: password hashing, session tokens and cookies.

pub mod password;
pub mod session;
pub mod totp;

pub use password::PasswordHasher;
