//! Local credentials: failed sign-ins and lockout, password history and age, TOTP secrets
//! (sealed) and recovery codes (hashed). Every change that matters is audited in the same
//! transaction.

use sqlx::FromRow;

use super::audit::{AuditEntry, append_audit};
use super::sessions::{SessionRecord, insert_session_in};
use super::{Store, StoreError};
use crate::util::now;

/// How many password hashes a user's history keeps.
pub const PASSWORD_HISTORY: i64 = 5;

/// What a sign-in needs to know beyond the user row.
#[derive(Debug, Clone, FromRow)]
pub struct CredentialRow {
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
    pub password_changed_at: i64,
    pub totp_secret: Option<Vec<u8>>,
    pub totp_enabled: bool,
    pub totp_last_step: Option<i64>,
}

/// A successful sign-in: the new session, the TOTP step used (never accepted again), and the
/// recovery code used (deleted), if any.
pub struct LoginSuccess {
    pub session: SessionRecord,
    pub totp_step: Option<i64>,
    pub recovery_hash: Option<Vec<u8>>,
    pub audit: AuditEntry,
}

/// A password change: new hash, and which session (if any) stays signed in.
pub struct PasswordChange {
    pub user_id: i64,
    pub hash: String,
    pub keep_session: Option<Vec<u8>>,
    pub audit: AuditEntry,
}

impl Store {
    pub async fn credentials(&self, user_id: i64) -> Result<Option<CredentialRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT failed_logins, locked_until, password_changed_at, totp_secret, totp_enabled, totp_last_step
             FROM staff_users WHERE id = ?1",
        )
        .bind(user_id)
        .fetch_optional(self.reader())
        .await?)
    }

    /// Counts a failed sign-in of `username` from `ip`; `lock_for(failures)` gives the lockout
    /// in seconds (0: none). Audits the failure, and the lockout if there is one. Returns the
    /// failures so far and the lock end, if the account is now locked.
    pub async fn record_login_failure(
        &self,
        user_id: i64,
        username: String,
        ip: String,
        lock_for: impl Fn(i64) -> i64 + Send + 'static,
    ) -> Result<(i64, Option<i64>), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let failures: i64 = sqlx::query_scalar(
                    "UPDATE staff_users SET failed_logins = failed_logins + 1 WHERE id = ?1 RETURNING failed_logins",
                )
                .bind(user_id)
                .fetch_one(&mut *conn)
                .await?;
                let failed = AuditEntry::new(username.clone(), "auth.login_failed")
                    .target(username.clone())
                    .details(format!("ip={ip} failures={failures}"));
                append_audit(conn, failed).await?;
                let seconds = lock_for(failures);
                let until = (seconds > 0).then(|| now() + seconds);
                if let Some(until) = until {
                    sqlx::query("UPDATE staff_users SET locked_until = ?2 WHERE id = ?1")
                        .bind(user_id)
                        .bind(until)
                        .execute(&mut *conn)
                        .await?;
                    let lock = AuditEntry::new("system", "auth.lockout")
                        .target(username)
                        .details(format!("ip={ip} failures={failures} minutes={}", seconds / 60));
                    append_audit(conn, lock).await?;
                }
                Ok((failures, until))
            })
        })
        .await
    }

    /// Clears the failure count, consumes the TOTP step or recovery code, opens the session.
    /// False (and nothing changed) when the step or the recovery code was used meanwhile.
    pub async fn record_login_success(&self, success: LoginSuccess) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let user_id = success.session.user_id;
                if let Some(step) = success.totp_step {
                    let fresh = sqlx::query(
                        "UPDATE staff_users SET totp_last_step = ?2
                         WHERE id = ?1 AND (totp_last_step IS NULL OR totp_last_step < ?2)",
                    )
                    .bind(user_id)
                    .bind(step)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                    if fresh == 0 {
                        return Ok(false);
                    }
                }
                if let Some(hash) = success.recovery_hash {
                    let used = sqlx::query("DELETE FROM staff_recovery_codes WHERE user_id = ?1 AND code_hash = ?2")
                        .bind(user_id)
                        .bind(hash)
                        .execute(&mut *conn)
                        .await?
                        .rows_affected();
                    if used == 0 {
                        return Ok(false);
                    }
                    let entry = AuditEntry::new(success.audit.actor.clone(), "auth.recovery_code_used")
                        .target(success.audit.actor.clone());
                    append_audit(conn, entry).await?;
                }
                sqlx::query("UPDATE staff_users SET failed_logins = 0, locked_until = NULL WHERE id = ?1")
                    .bind(user_id)
                    .execute(&mut *conn)
                    .await?;
                insert_session_in(conn, success.session).await?;
                append_audit(conn, success.audit).await?;
                Ok(true)
            })
        })
        .await
    }

    /// Lifts a lockout and clears the failure count; false when no such user exists.
    pub async fn unlock_user(&self, username: &str, audit: AuditEntry) -> Result<bool, StoreError> {
        let username = username.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let found = sqlx::query(
                    "UPDATE staff_users SET failed_logins = 0, locked_until = NULL, updated_at = ?2 WHERE username = ?1",
                )
                .bind(username)
                .bind(now())
                .execute(&mut *conn)
                .await?
                .rows_affected();
                if found > 0 {
                    append_audit(conn, audit).await?;
                }
                Ok(found > 0)
            })
        })
        .await
    }

    /// The current hash and the last hashes from the history, newest first.
    pub async fn recent_password_hashes(&self, user_id: i64) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT password_hash FROM (
                 SELECT password_hash, 1 AS k, 0 AS id FROM staff_users WHERE id = ?1 AND password_hash IS NOT NULL
                 UNION ALL
                 SELECT password_hash, 2 AS k, id FROM staff_password_history WHERE user_id = ?1
             ) ORDER BY k, id DESC LIMIT ?2",
        )
        .bind(user_id)
        .bind(PASSWORD_HISTORY + 1)
        .fetch_all(self.reader())
        .await?)
    }

    /// Sets a password chosen by the user: no change required any more, the age restarts, the
    /// history keeps the newest hashes, and every other session ends. The ended sessions' count.
    pub async fn change_password(&self, change: PasswordChange) -> Result<u64, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let at = now();
                sqlx::query(
                    "UPDATE staff_users SET password_hash = ?2, must_change_password = 0, password_changed_at = ?3,
                            failed_logins = 0, locked_until = NULL, updated_at = ?3 WHERE id = ?1",
                )
                .bind(change.user_id)
                .bind(&change.hash)
                .bind(at)
                .execute(&mut *conn)
                .await?;
                sqlx::query("INSERT INTO staff_password_history (user_id, password_hash, set_at) VALUES (?1, ?2, ?3)")
                    .bind(change.user_id)
                    .bind(&change.hash)
                    .bind(at)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query(
                    "DELETE FROM staff_password_history WHERE user_id = ?1 AND id NOT IN
                       (SELECT id FROM staff_password_history WHERE user_id = ?1 ORDER BY id DESC LIMIT ?2)",
                )
                .bind(change.user_id)
                .bind(PASSWORD_HISTORY)
                .execute(&mut *conn)
                .await?;
                let ended = sqlx::query("DELETE FROM staff_sessions WHERE user_id = ?1 AND token_hash IS NOT ?2")
                    .bind(change.user_id)
                    .bind(change.keep_session)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                append_audit(conn, change.audit).await?;
                Ok(ended)
            })
        })
        .await
    }

    /// Stores a new, not yet confirmed TOTP secret (sealed by the caller).
    pub async fn set_pending_totp(&self, user_id: i64, sealed: Vec<u8>) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE staff_users SET totp_secret = ?2, totp_enabled = 0, totp_last_step = NULL WHERE id = ?1",
                )
                .bind(user_id)
                .bind(sealed)
                .execute(&mut *conn)
                .await
                .map(|_| ())
            })
        })
        .await
    }

    /// Switches TOTP on after a confirmed code, replacing the recovery codes. False when the
    /// code's step was used meanwhile.
    pub async fn enable_totp(
        &self,
        user_id: i64,
        step: i64,
        recovery_hashes: Vec<Vec<u8>>,
        audit: AuditEntry,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let fresh = sqlx::query(
                    "UPDATE staff_users SET totp_enabled = 1, totp_last_step = ?2
                     WHERE id = ?1 AND totp_secret IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < ?2)",
                )
                .bind(user_id)
                .bind(step)
                .execute(&mut *conn)
                .await?
                .rows_affected();
                if fresh == 0 {
                    return Ok(false);
                }
                sqlx::query("DELETE FROM staff_recovery_codes WHERE user_id = ?1")
                    .bind(user_id)
                    .execute(&mut *conn)
                    .await?;
                for hash in recovery_hashes {
                    sqlx::query("INSERT INTO staff_recovery_codes (user_id, code_hash) VALUES (?1, ?2)")
                        .bind(user_id)
                        .bind(hash)
                        .execute(&mut *conn)
                        .await?;
                }
                append_audit(conn, audit).await?;
                Ok(true)
            })
        })
        .await
    }

    /// Switches TOTP off and forgets the secret and the recovery codes.
    pub async fn disable_totp(&self, user_id: i64, audit: AuditEntry) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE staff_users SET totp_secret = NULL, totp_enabled = 0, totp_last_step = NULL WHERE id = ?1",
                )
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
                sqlx::query("DELETE FROM staff_recovery_codes WHERE user_id = ?1")
                    .bind(user_id)
                    .execute(&mut *conn)
                    .await?;
                append_audit(conn, audit).await
            })
        })
        .await
    }

    /// Unused recovery codes left.
    pub async fn recovery_codes_left(&self, user_id: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM staff_recovery_codes WHERE user_id = ?1")
            .bind(user_id)
            .fetch_one(self.reader())
            .await?)
    }
}
