//! What a signed-in user does to their own account — change the password, enrol or remove
//! two-factor sign-in, see and end their sessions — and the administrator's unlock and
//! "end all sessions".

use super::{AccountError, Accounts, StaffSession};
use crate::auth::password;
use crate::auth::{session, totp};
use crate::crypto::field_aad;
use crate::domain::Username;
use crate::store::credentials::{PASSWORD_HISTORY, PasswordChange};
use crate::store::{AuditEntry, UserRow};
use crate::util::now;

/// Shown to an authenticator app, once: while pending, the secret is stored sealed.
pub struct Enrolment {
    pub secret: String,
    pub uri: String,
    pub qr_svg: String,
}

/// One session as its owner sees it.
pub struct SessionInfo {
    pub id: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub source_ip: String,
    pub user_agent: String,
    pub current: bool,
}

/// The issuer name authenticator apps show next to the account.
const ISSUER: &str = "Parley";
/// Sealing-key purpose and associated data for TOTP secrets.
const TOTP_KEY: &str = "staff_totp_secret";

impl Accounts {
    /// Changes the signed-in user's own local password. Other sessions of the user end.
    pub async fn change_password(
        &self,
        me: &StaffSession,
        token: &str,
        current: &str,
        new: &str,
    ) -> Result<(), AccountError> {
        let user = self.local_user(me).await?;
        if !self.hasher.verify(current.to_owned(), user.password_hash.clone()).await? {
            return Err(AccountError::WrongPassword);
        }
        password::check_policy(new).map_err(AccountError::WeakPassword)?;
        if new.trim().eq_ignore_ascii_case(&user.username) {
            return Err(AccountError::WeakPassword("a password must not be the user name".into()));
        }
        for old in self.store.recent_password_hashes(user.id).await? {
            if self.hasher.verify(new.to_owned(), Some(old)).await? {
                return Err(AccountError::PasswordReused(PASSWORD_HISTORY));
            }
        }
        let hash = self.hasher.hash(new.to_owned()).await?;
        let audit = AuditEntry::new(me.username.clone(), "auth.password_changed").target(me.username.clone());
        let ended = self
            .store
            .change_password(PasswordChange {
                user_id: user.id,
                hash,
                keep_session: Some(session::token_hash(token)),
                audit,
            })
            .await?;
        tracing::info!(user_id = user.id, other_sessions_ended = ended, "staff password changed");
        Ok(())
    }

    /// Starts (or restarts) TOTP enrolment: a new secret, stored sealed and not yet enforced.
    pub async fn start_totp(&self, me: &StaffSession) -> Result<Enrolment, AccountError> {
        let user = self.local_user(me).await?;
        if me.totp_enabled {
            return Err(AccountError::TotpAlreadyEnabled);
        }
        let secret = totp::new_secret();
        let sealed = self.seal_totp_secret(user.id, &secret)?;
        self.store.set_pending_totp(user.id, sealed).await?;
        let uri = totp::otpauth_uri(ISSUER, &user.username, &secret);
        let qr_svg = totp::qr_svg(&uri).map_err(AccountError::Internal)?;
        Ok(Enrolment { secret: totp::base32(&secret), uri, qr_svg })
    }

    /// Confirms enrolment with a code from the app; from now on sign-in asks for a code.
    /// Returns the ten recovery codes (shown once; only their hashes are kept).
    pub async fn confirm_totp(&self, me: &StaffSession, code: &str) -> Result<Vec<String>, AccountError> {
        let user = self.local_user(me).await?;
        if me.totp_enabled {
            return Err(AccountError::TotpAlreadyEnabled);
        }
        let credentials = self.store.credentials(user.id).await?.ok_or(AccountError::NoSession)?;
        let sealed = credentials.totp_secret.as_deref().ok_or(AccountError::TotpNotStarted)?;
        let secret = self.open_totp_secret(user.id, Some(sealed))?;
        let step = totp::verify(&secret, code, now(), credentials.totp_last_step).ok_or(AccountError::TotpInvalid)?;
        let codes = totp::new_recovery_codes();
        let hashes = codes.iter().map(|c| totp::recovery_hash(c)).collect();
        let audit = AuditEntry::new(me.username.clone(), "auth.totp_enrolled").target(me.username.clone());
        match self.store.enable_totp(user.id, step, hashes, audit).await? {
            true => Ok(codes),
            false => Err(AccountError::TotpInvalid),
        }
    }

    /// Switches two-factor sign-in off after the password is entered again.
    pub async fn disable_totp(&self, me: &StaffSession, password: &str) -> Result<(), AccountError> {
        let user = self.local_user(me).await?;
        if !self.hasher.verify(password.to_owned(), user.password_hash.clone()).await? {
            return Err(AccountError::WrongPassword);
        }
        let audit = AuditEntry::new(me.username.clone(), "auth.totp_disabled").target(me.username.clone());
        Ok(self.store.disable_totp(user.id, audit).await?)
    }

    /// Unused recovery codes of the signed-in user.
    pub async fn recovery_codes_left(&self, me: &StaffSession) -> Result<i64, AccountError> {
        Ok(self.store.recovery_codes_left(me.user_id).await?)
    }

    /// The signed-in user's live sessions, newest first.
    pub async fn sessions(&self, me: &StaffSession) -> Result<Vec<SessionInfo>, AccountError> {
        let at = now();
        let rows = self.store.sessions_of(me.user_id, at).await?;
        Ok(rows
            .into_iter()
            .filter(|row| at - row.last_seen_at < self.idle_seconds)
            .map(|row| SessionInfo {
                current: row.public_id == me.session_id,
                id: row.public_id,
                created_at: row.created_at,
                last_seen_at: row.last_seen_at,
                expires_at: row.expires_at,
                source_ip: row.source_ip,
                user_agent: row.user_agent,
            })
            .collect())
    }

    /// Ends one of the signed-in user's own sessions.
    pub async fn revoke_own_session(&self, me: &StaffSession, id: &str) -> Result<(), AccountError> {
        if !session::is_public_id(id) {
            return Err(AccountError::UnknownSession);
        }
        let audit = AuditEntry::new(me.username.clone(), "auth.session_revoked").target(me.username.clone());
        match self.store.revoke_session(me.user_id, id.to_owned(), audit).await? {
            true => Ok(()),
            false => Err(AccountError::UnknownSession),
        }
    }

    /// Ends every session of a user (an administrator's action). Returns the user's id, so
    /// the caller can close their websockets too, and how many sessions ended.
    pub async fn revoke_user_sessions(&self, actor: &str, username: &str) -> Result<(i64, u64), AccountError> {
        let user = self.named_user(username).await?;
        let audit = AuditEntry::new(actor, "auth.sessions_revoked").target(user.username.clone());
        let ended = self.store.revoke_all_sessions(user.id, audit).await?;
        Ok((user.id, ended))
    }

    /// Lifts a lockout (an administrator's action).
    pub async fn unlock(&self, actor: &str, username: &str) -> Result<(), AccountError> {
        let name = Username::parse(username).map_err(AccountError::BadUsername)?;
        let audit = AuditEntry::new(actor, "auth.unlocked").target(name.to_string());
        match self.store.unlock_user(name.as_str(), audit).await? {
            true => Ok(()),
            false => Err(AccountError::UnknownUser(name.to_string())),
        }
    }

    async fn named_user(&self, username: &str) -> Result<UserRow, AccountError> {
        let name = Username::parse(username).map_err(AccountError::BadUsername)?;
        self.store.user_by_name(name.as_str()).await?.ok_or_else(|| AccountError::UnknownUser(name.to_string()))
    }

    /// The signed-in user's row; directory accounts keep their password and 2FA in the directory.
    async fn local_user(&self, me: &StaffSession) -> Result<UserRow, AccountError> {
        let user = self.store.user_by_name(&me.username).await?.ok_or(AccountError::NoSession)?;
        if user.source != "local" || user.password_hash.is_none() {
            return Err(AccountError::DirectoryAccount);
        }
        Ok(user)
    }

    fn seal_totp_secret(&self, user_id: i64, secret: &[u8]) -> Result<Vec<u8>, AccountError> {
        let key = self.store.keyring()?.derived_key(TOTP_KEY)?;
        Ok(key.seal(&field_aad("staff_users", "totp_secret", &user_id.to_string()), secret)?)
    }

    pub(super) fn open_totp_secret(&self, user_id: i64, sealed: Option<&[u8]>) -> Result<Vec<u8>, AccountError> {
        let sealed = sealed.ok_or(AccountError::TotpNotStarted)?;
        let key = self.store.keyring()?.derived_key(TOTP_KEY)?;
        Ok(key.open(&field_aad("staff_users", "totp_secret", &user_id.to_string()), sealed)?)
    }
}
