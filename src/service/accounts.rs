//! Staff accounts and sessions: login (with lockout, per-account rate limit and TOTP), logout,
//! session checks, and the `parley user` commands. Password changes, two-factor enrolment and
//! session management are in `security`.

mod security;

use std::net::IpAddr;
use std::sync::Arc;

pub use security::{Enrolment, SessionInfo};

use crate::auth::password::{self, HashError, PasswordHasher};
use crate::auth::{session, totp};
use crate::config::AuthConfig;
use crate::domain::{Role, Username};
use crate::ratelimit::KeyedLimiter;
use crate::store::credentials::LoginSuccess;
use crate::store::{AuditEntry, NewUser, SessionRecord, SessionRow, Store, StoreError, UserRow};
use crate::util::now;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Same message for unknown user, wrong password, disabled and locked account, so the
    /// answer never tells whether an account exists.
    #[error(
        "the user name or password is wrong, or the account is locked after too many failed attempts \
         (wait a few minutes or ask an administrator)"
    )]
    InvalidCredentials,
    /// The role may not sign in from this network or at this time (said in general terms).
    #[error("{}", .0.message())]
    Restricted(crate::service::roles::Refusal),
    #[error("too many sign-in attempts for this account; try again in {0} seconds")]
    RateLimited(u64),
    #[error("enter the six-digit code from your authenticator app, or a recovery code")]
    TotpRequired,
    #[error("the two-factor code is wrong or has already been used")]
    TotpInvalid,
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("choose a password you have not used before (the last {0} are remembered)")]
    PasswordReused(i64),
    #[error("this account signs in through the directory; change its password or two-factor there")]
    DirectoryAccount,
    #[error("two-factor sign-in is already on; switch it off first to enrol a new device")]
    TotpAlreadyEnabled,
    #[error("start the two-factor enrolment first")]
    TotpNotStarted,
    #[error("no such session of yours")]
    UnknownSession,
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    #[error("{0}")]
    Internal(String),
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
    #[error(transparent)]
    Directory(crate::service::directory::DirectoryError),
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
    /// `local` or `ldap`.
    pub source: String,
    /// The password must be changed (first sign-in, reset, or expired) before anything else.
    pub must_change_password: bool,
    /// The role requires two-factor sign-in and this account has not enrolled yet.
    pub totp_enrolment_required: bool,
    pub totp_enabled: bool,
    /// The opaque id of this session (never the token or its hash).
    pub session_id: String,
    pub csrf_token: String,
    pub expires_at: i64,
}

impl StaffSession {
    /// The stable error code of what must happen before anything else, if anything.
    pub fn pending_step(&self) -> Option<&'static str> {
        if self.must_change_password {
            Some("password_change_required")
        } else if self.totp_enrolment_required {
            Some("totp_enrolment_required")
        } else {
            None
        }
    }
}

/// One sign-in attempt as the HTTP layer received it.
pub struct LoginAttempt<'a> {
    pub username: &'a str,
    pub password: &'a str,
    /// A TOTP code or a recovery code.
    pub second_factor: Option<&'a str>,
    pub source_ip: IpAddr,
    pub user_agent: &'a str,
}

/// A new session: the cookie token (shown once) and the CSRF token for the client.
pub struct LoginOutcome {
    pub token: String,
    pub session: StaffSession,
    pub max_age_seconds: u64,
}

/// The local-account rules from `[auth]`.
#[derive(Debug)]
struct LocalPolicy {
    password_max_age_seconds: i64,
    lockout_threshold: u32,
    lockout_max_minutes: u64,
    totp_required_roles: Vec<String>,
}

#[derive(Clone)]
pub struct Accounts {
    store: Store,
    hasher: PasswordHasher,
    idle_seconds: i64,
    absolute_seconds: i64,
    policy: Arc<LocalPolicy>,
    /// Sign-in attempts per user name (the per-address limit is in the HTTP layer).
    account_limiter: KeyedLimiter<String>,
    /// Active Directory / LDAP, when `[ldap]` is configured.
    directory: Option<crate::service::directory::Directory>,
    /// Per-role login restrictions (service/roles.rs).
    roles: Option<crate::service::roles::Roles>,
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
            policy: Arc::new(LocalPolicy {
                password_max_age_seconds: (config.password_max_age_days as i64).saturating_mul(86_400),
                lockout_threshold: config.lockout_threshold,
                lockout_max_minutes: config.lockout_max_minutes,
                totp_required_roles: config.totp_required_roles.iter().map(|r| r.trim().to_ascii_lowercase()).collect(),
            }),
            account_limiter: KeyedLimiter::per_minute(config.login_attempts_per_account_per_minute),
            directory: None,
            roles: None,
        })
    }

    /// Applies each role's allowed networks and hours at sign-in.
    pub fn with_roles(mut self, roles: crate::service::roles::Roles) -> Accounts {
        self.roles = Some(roles);
        self
    }

    /// Signs in names that are not local accounts against this directory (see `login`).
    pub fn with_directory(mut self, directory: Option<crate::service::directory::Directory>) -> Accounts {
        self.directory = directory;
        self
    }

    pub async fn login(&self, attempt: LoginAttempt<'_>) -> Result<LoginOutcome, AccountError> {
        let name = Username::parse(attempt.username).ok();
        let limit_key = name.as_ref().map_or_else(|| attempt.username.trim().to_lowercase(), |n| n.to_string());
        self.account_limiter.check(&limit_key).map_err(AccountError::RateLimited)?;
        // Names that are not local accounts prove their password to the directory, when there
        // is one (service/directory.rs); local ones, the break-glass administrator too, never ask it.
        let from_directory = match &self.directory {
            Some(directory) => {
                directory.login(&self.store, attempt.username, attempt.password, attempt.source_ip).await?
            }
            None => None,
        };
        // A malformed name takes the unknown-user path so timing and message match.
        let user = match (&name, &from_directory) {
            (_, Some(user)) => Some(user.clone()),
            (Some(name), None) => self.store.user_by_name(name.as_str()).await?,
            (None, None) => None,
        };
        let credentials = match &user {
            Some(user) => self.store.credentials(user.id).await?,
            None => None,
        };
        let at = now();
        let ip = attempt.source_ip.to_string();
        let locked = credentials.as_ref().and_then(|c| c.locked_until).is_some_and(|until| until > at);
        // A locked account still costs a full password check, so the answer takes as long.
        let hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let password_ok = from_directory.is_some() || self.hasher.verify(attempt.password.to_owned(), hash).await?;
        let (user, credentials) = match (user, credentials) {
            (Some(user), Some(credentials)) if password_ok && !user.disabled && !locked => (user, credentials),
            (Some(user), _) if locked => {
                let entry = AuditEntry::new(user.username.clone(), "auth.login_refused_locked")
                    .target(user.username)
                    .details(format!("ip={ip}"));
                self.store.audit(entry).await?;
                return Err(AccountError::InvalidCredentials);
            }
            (Some(user), _) => {
                self.record_failure(&user, &ip).await?;
                return Err(AccountError::InvalidCredentials);
            }
            (None, _) => {
                // The typed name is not recorded: it may be a password typed in the wrong field.
                let entry = AuditEntry::new("(unknown user)", "auth.login_failed")
                    .target("(unknown user)")
                    .details(format!("ip={ip}"));
                self.store.audit(entry).await?;
                return Err(AccountError::InvalidCredentials);
            }
        };

        // Second factor, for accounts that enrolled.
        let (mut totp_step, mut recovery_hash) = (None, None::<Vec<u8>>);
        if credentials.totp_enabled {
            let Some(input) = attempt.second_factor.map(str::trim).filter(|c| !c.is_empty()) else {
                return Err(AccountError::TotpRequired);
            };
            if totp::looks_like_code(input) {
                let secret = self.open_totp_secret(user.id, credentials.totp_secret.as_deref())?;
                match totp::verify(&secret, input, at, credentials.totp_last_step) {
                    Some(step) => totp_step = Some(step),
                    None => {
                        self.record_failure(&user, &ip).await?;
                        return Err(AccountError::TotpInvalid);
                    }
                }
            } else {
                recovery_hash = Some(totp::recovery_hash(input));
            }
        }

        // The role's login restrictions (networks, UK-time hours), checked only once the
        // password has proved who this is, so they tell a guesser nothing.
        if let Some(roles) = &self.roles
            && let Err(refusal) = roles.login_allowed(&user.role, attempt.source_ip, time::OffsetDateTime::now_utc())
        {
            let entry = AuditEntry::new(user.username.clone(), "auth.login_refused_restriction")
                .target(user.username.clone())
                .details(format!("ip={ip} reason={}", refusal.code()));
            self.store.audit(entry).await?;
            return Err(AccountError::Restricted(refusal));
        }

        let token = session::new_token();
        let csrf_token = session::new_token();
        let public_id = session::new_public_id();
        let expires_at = at + self.absolute_seconds;
        let used_recovery = recovery_hash.is_some();
        let fresh = self
            .store
            .record_login_success(LoginSuccess {
                session: SessionRecord {
                    token_hash: session::token_hash(&token),
                    public_id: public_id.clone(),
                    user_id: user.id,
                    csrf_token: csrf_token.clone(),
                    created_at: at,
                    expires_at,
                    source_ip: ip.clone(),
                    user_agent: session::short_user_agent(attempt.user_agent),
                },
                totp_step,
                recovery_hash,
                audit: AuditEntry::new(user.username.clone(), "auth.login")
                    .target(user.username.clone())
                    .details(format!("ip={ip}{}", if used_recovery { " recovery_code" } else { "" })),
            })
            .await?;
        if !fresh {
            // The code's time step, or the recovery code, was used already.
            self.record_failure(&user, &ip).await?;
            return Err(AccountError::TotpInvalid);
        }
        let must_change =
            user.must_change_password || self.password_expired(&user.source, credentials.password_changed_at, at);
        let totp_enrolment_required = self.totp_enrolment_required(&user.source, &user.role, credentials.totp_enabled);
        Ok(LoginOutcome {
            token,
            max_age_seconds: self.absolute_seconds as u64,
            session: StaffSession {
                user_id: user.id,
                username: user.username,
                display_name: user.display_name,
                role: user.role,
                source: user.source,
                must_change_password: must_change,
                totp_enrolment_required,
                totp_enabled: credentials.totp_enabled,
                session_id: public_id,
                csrf_token,
                expires_at,
            },
        })
    }

    /// Counts a failed attempt towards the lockout (audited, with the lockout if one starts).
    async fn record_failure(&self, user: &UserRow, ip: &str) -> Result<(), AccountError> {
        let (threshold, max) = (self.policy.lockout_threshold, self.policy.lockout_max_minutes);
        let lock_for = move |failures: i64| {
            let failures = u32::try_from(failures).unwrap_or(u32::MAX);
            (password::lockout_minutes(failures, threshold, max) * 60) as i64
        };
        let (failures, until) =
            self.store.record_login_failure(user.id, user.username.clone(), ip.to_owned(), lock_for).await?;
        if let Some(until) = until {
            tracing::warn!(user_id = user.id, failures, locked_for_seconds = until - now(), "staff account locked");
        }
        Ok(())
    }

    /// A local password older than `auth.password_max_age_days` (when set) must be changed.
    fn password_expired(&self, source: &str, changed_at: i64, at: i64) -> bool {
        let max_age = self.policy.password_max_age_seconds;
        source == "local" && max_age > 0 && at - changed_at >= max_age
    }

    /// Local accounts of a role in `auth.totp_required_roles` must enrol before anything else.
    fn totp_enrolment_required(&self, source: &str, role: &str, enabled: bool) -> bool {
        source == "local" && !enabled && self.policy.totp_required_roles.iter().any(|r| r == role)
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
        let must_change = row.must_change_password || self.password_expired(&row.source, row.password_changed_at, now);
        Ok(StaffSession {
            must_change_password: must_change,
            totp_enrolment_required: self.totp_enrolment_required(&row.source, &row.role, row.totp_enabled),
            totp_enabled: row.totp_enabled,
            user_id: row.user_id,
            username: row.username,
            display_name: row.display_name,
            role: row.role,
            source: row.source,
            session_id: row.public_id,
            csrf_token: row.csrf_token,
            expires_at: row.expires_at,
        })
    }

    pub async fn logout(&self, session: &StaffSession, token: &str) -> Result<(), AccountError> {
        let entry = AuditEntry::new(session.username.clone(), "auth.logout").target(session.username.clone());
        Ok(self.store.end_session(session::token_hash(token), entry).await?)
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
        // A built-in role, or a custom role an administrator made (docs/security.md).
        let role = match Role::parse(role) {
            Ok(builtin) => builtin.as_str().to_owned(),
            Err(message) => {
                let custom = role.trim().to_ascii_lowercase();
                if !self.store.role_exists(&custom).await? {
                    return Err(AccountError::BadRole(
                        message.replace("choose one of", "choose a custom role or one of"),
                    ));
                }
                custom
            }
        };
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
                role,
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
        if !self.store.set_password(name.as_str(), hash, true).await? {
            return Err(AccountError::UnknownUser(name.to_string()));
        }
        // A reset is also how someone who lost both phone and recovery codes gets back in:
        // two-factor sign-in is removed, and enrolled again where the role requires it.
        if let Some(user) = self.store.user_by_name(name.as_str()).await?
            && let Some(credentials) = self.store.credentials(user.id).await?
            && credentials.totp_secret.is_some()
        {
            let audit = AuditEntry::new("cli", "auth.totp_disabled").target(name.to_string()).details("password reset");
            self.store.disable_totp(user.id, audit).await?;
        }
        Ok(password)
    }
}
