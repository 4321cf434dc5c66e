//! Facts about the bundled SQLite library, for `parley version --verbose`.

use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::StoreError;

/// `select sqlite_version()` on an in-memory database: the SQLite compiled into this binary.
pub async fn sqlite_version() -> Result<String, StoreError> {
    let mut conn = SqliteConnectOptions::from_str("sqlite::memory:")?.connect().await?;
    let version: String = sqlx::query_scalar("SELECT sqlite_version()").fetch_one(&mut conn).await?;
    conn.close().await?;
    Ok(version)
}
