//! Named secrets in `meta`: each stored wrapped by a KEK as `<name>.<kek id>` (hex); the clear
//! copies older versions kept under the bare name are read once, to be wrapped, and deleted in
//! the same transaction that stores the wrapped copy.

use std::sync::Arc;

use super::{Store, StoreError};
use crate::crypto::Keyring;

impl Store {
    /// A secret an older version kept in clear under `name`, if any.
    pub async fn clear_secret(&self, name: &str) -> Result<Option<[u8; 32]>, StoreError> {
        let stored: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = ?1")
            .bind(name)
            .fetch_optional(self.reader())
            .await?;
        stored
            .map(|text| {
                let mut key = [0u8; 32];
                hex::decode_to_slice(text.trim(), &mut key)
                    .map_err(|e| StoreError::Commit(format!("meta secret {name} is damaged: {e}")))?;
                Ok(key)
            })
            .transpose()
    }

    /// Stores `wrapped` as secret `name` under KEK `kek_id` unless one is there already, and
    /// returns the stored one (another process may have been first). `delete_clear`: the clear
    /// copy under the bare name goes in the same transaction (zeroed: `secure_delete`).
    /// `audit_boundary`: when this creates the audit-chain key, the entries already in the log
    /// are recorded as the legacy prefix (see `audit::record_boundary`).
    pub async fn put_secret_once(
        &self,
        name: &'static str,
        kek_id: i64,
        wrapped: Vec<u8>,
        delete_clear: bool,
        audit_boundary: Option<Arc<Keyring>>,
    ) -> Result<Vec<u8>, StoreError> {
        let key = format!("{name}.{kek_id}");
        let stored: String = self
            .write(move |conn| {
                Box::pin(async move {
                    let inserted =
                        sqlx::query("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING")
                            .bind(&key)
                            .bind(hex::encode(wrapped))
                            .execute(&mut *conn)
                            .await?
                            .rows_affected();
                    if delete_clear {
                        sqlx::query("DELETE FROM meta WHERE key = ?1").bind(name).execute(&mut *conn).await?;
                    }
                    if inserted == 1
                        && let Some(ring) = audit_boundary
                    {
                        super::audit::record_boundary(conn, &ring).await?;
                    }
                    sqlx::query_scalar("SELECT value FROM meta WHERE key = ?1").bind(&key).fetch_one(&mut *conn).await
                })
            })
            .await?;
        hex::decode(stored).map_err(|e| StoreError::Commit(format!("meta {name} is damaged: {e}")))
    }
}
