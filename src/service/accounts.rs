//! Staff accounts and sessions: login, logout, session checks, and the `parley user` commands.

use crate::auth::password::{self, HashError, PasswordHasher};
use crate::auth::session;
use crate::config::AuthConfig;
use crate::domain::{Role, Username};
use crate::store::{NewUser, SessionRecord, SessionRow, Store, StoreError, UserRow};
use crate::util::now;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Same message for unknown user, wrong password and disabled account.
    #[error("the user name or password is wrong")]
    InvalidCredentials,
    #[error("not signed in, or the session has ended")]
    NoSession,
    #[error("{0}")]
    BadUsername(String),
    #[error("{0}")]
    BadRole(String),
    #[error("{0}")]
    WeakPassword(String),
    #[error("no user named `{0}`")]
    UnknownUser(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
}

impl From<StoreError> for AccountError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(what) => AccountError::Conflict(what),
            other => AccountError::Store(other),
        }
    }
}

/// A signed-in staff member, as seen by handlers.
#[derive(Debug, Clone)]
pub struct StaffSession {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub must_change_password: bool,
    pub csrf_token: String,
    pub expires_at: i64,
}

/// A new session: the cookie token (shown once) and the CSRF token for the client.
pub struct LoginOutcome {
    pub token: String,
    pub session: StaffSession,
    pub max_age_seconds: u64,
}

#[derive(Clone)]
pub struct Accounts {
    store: Store,
    hasher: PasswordHasher,
    idle_seconds: i64,
    absolute_seconds: i64,
}

/// Sessions are touched at most this often, so browsing does not write on every request.
const TOUCH_EVERY_SECONDS: i64 = 60;

impl Accounts {
    pub fn new(store: Store, config: &AuthConfig) -> Result<Accounts, HashError> {
        Ok(Accounts {
            store,
            hasher: PasswordHasher::new(config)?,
            idle_seconds: (config.session_idle_minutes * 60) as i64,
            absolute_seconds: (config.session_absolute_hours * 3600) as i64,
        })
    }

    pub async fn login(&self, username: &str, password: &str) -> Result<LoginOutcome, AccountError> {
        // A malformed name takes the unknown-user path so timing and message match.
        let user = match Username::parse(username) {
            Ok(name) => self.store.user_by_name(name.as_str()).await?,
            Err(_) => None,
        };
        let hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let password_ok = self.hasher.verify(password.to_owned(), hash).await?;
        let user = match user {
            Some(user) if password_ok && !user.disabled => user,
            _ => return Err(AccountError::InvalidCredentials),
        };
        let token = session::new_token();
        let csrf_token = session::new_token();
        let created_at = now();
        let expires_at = created_at + self.absolute_seconds;
        self.store
            .insert_session(SessionRecord {
                token_hash: session::token_hash(&token),
                user_id: user.id,
                csrf_token: csrf_token.clone(),
                created_at,
                expires_at,
            })
            .await?;
        Ok(LoginOutcome {
            token,
            max_age_seconds: self.absolute_seconds as u64,
            session: StaffSession {
                user_id: user.id,
                username: user.username,
                display_name: user.display_name,
                role: user.role,
                must_change_password: user.must_change_password,
                csrf_token,
                expires_at,
            },
        })
    }

    /// The live session for a cookie token; expired or idle sessions are deleted and refused.
    pub async fn authenticate(&self, token: &str) -> Result<StaffSession, AccountError> {
        let hash = session::token_hash(token);
        let row: SessionRow = self.store.session(&hash).await?.ok_or(AccountError::NoSession)?;
        let now = now();
        if row.disabled || now >= row.expires_at || now - row.last_seen_at >= self.idle_seconds {
            self.store.delete_session(hash).await?;
            return Err(AccountError::NoSession);
        }
        if now - row.last_seen_at >= TOUCH_EVERY_SECONDS {
            self.store.touch_session(hash, now).await?;
        }
        Ok(StaffSession {
            user_id: row.user_id,
            username: row.username,
            display_name: row.display_name,
            role: row.role,
            must_change_password: row.must_change_password,
            csrf_token: row.csrf_token,
            expires_at: row.expires_at,
        })
    }

    pub async fn logout(&self, token: &str) -> Result<(), AccountError> {
        Ok(self.store.delete_session(session::token_hash(token)).await?)
    }

    /// Creates a local account. Without a password, generates one and returns it (to show once);
    /// a generated password must be changed at first login.
    pub async fn add_user(
        &self,
        username: &str,
        role: &str,
        display_name: Option<&str>,
        password: Option<String>,
    ) -> Result<(UserRow, Option<String>), AccountError> {
        let name = Username::parse(username).map_err(AccountError::BadUsername)?;
        let role = Role::parse(role).map_err(AccountError::BadRole)?;
        let (password, generated) = match password {
            Some(p) => {
                password::check_policy(&p).map_err(AccountError::WeakPassword)?;
                (p, false)
            }
            None => (password::generate_password(), true),
        };
        let hash = self.hasher.hash(password.clone()).await?;
        let display_name = display_name.map(str::trim).filter(|d| !d.is_empty()).unwrap_or(name.as_str()).to_owned();
        self.store
            .insert_user(NewUser {
                username: name.as_str().to_owned(),
                display_name,
                role: role.as_str().to_owned(),
                password_hash: hash,
                must_change_password: generated,
            })
            .await?;
        let user =
            self.store.user_by_name(name.as_str()).await?.ok_or_else(|| AccountError::UnknownUser(name.to_string()))?;
        Ok((user, generated.then_some(password)))
    }

    pub async fn list_users(&self) -> Result<Vec<UserRow>, AccountError> {
        Ok(self.store.list_users().await?)
    }

    pub async fn disable_user(&self, username: &str) -> Result<(), AccountError> {
        let name = Username::parse(username).map_err(AccountError::BadUsername)?;
        match self.store.disable_user(name.as_str()).await? {
            true => Ok(()),
            false => Err(AccountError::UnknownUser(name.to_string())),
        }
    }

    /// Sets a new generated password that must be changed at next login; ends all sessions.
    pub async fn reset_password(&self, username: &str) -> Result<String, AccountError> {
        let name = Username::parse(username).map_err(AccountError::BadUsername)?;
        let password = password::generate_password();
        let hash = self.hasher.hash(password.clone()).await?;
        match self.store.set_password(name.as_str(), hash, true).await? {
            true => Ok(password),
            false => Err(AccountError::UnknownUser(name.to_string())),
        }
    }
}
