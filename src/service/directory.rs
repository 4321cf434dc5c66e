//! Staff sign-in against Active Directory / LDAP (docs/security.md): service bind → search the
//! user (name escaped per RFC 4515) → bind as the user → check `userAccountControl` → map
//! `memberOf` groups to a role. The staff record is created at first sign-in and refreshed at
//! each later one. Every step has a timeout, so a dead server cannot hang a sign-in.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use rustls::ClientConfig;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::config::LdapConfig;
use crate::domain::Username;
use crate::store::directory::{DirectorySync, DirectoryUser};
use crate::store::{AuditEntry, Store, StoreError, UserRow};

/// LDAP result code for wrong credentials (RFC 4511).
const INVALID_CREDENTIALS: u32 = 49;
/// `userAccountControl` bit: the account is disabled (ACCOUNTDISABLE).
const ACCOUNT_DISABLE: u64 = 0x2;

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// Unknown user, wrong password, disabled in the directory: one answer for all.
    #[error("the user name or password is wrong")]
    InvalidCredentials,
    /// The directory refused the password of this (existing) directory user.
    #[error("the user name or password is wrong")]
    WrongPassword { username: String },
    /// The password was right (or not yet checked), but the user may not sign in: disabled in
    /// the directory or in parley, or in no `ldap.group_roles` group. `why` is for the audit log.
    #[error(
        "your directory account may not use parley (not in a permitted group, or disabled); ask your IT administrator"
    )]
    Refused { username: String, why: &'static str },
    #[error("the directory server cannot be reached or refused the service account; try again later")]
    Unavailable,
    #[error("cannot read ldap.ca_file {path}: {message}")]
    CaFile { path: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One step of the exchange and what came of it, for `parley ldap test`.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// What the directory says about a user.
#[derive(Debug, Clone)]
pub struct Found {
    pub user: DirectoryUser,
    /// True when `userAccountControl` marks the account disabled.
    pub disabled: bool,
    /// The role from the first matching `group_roles` entry, if any.
    pub role: Option<String>,
    pub groups: Vec<String>,
}

#[derive(Clone)]
pub struct Directory {
    config: Arc<LdapConfig>,
    tls: Option<Arc<ClientConfig>>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory").field("url", &self.config.url).finish_non_exhaustive()
    }
}

impl Directory {
    /// The directory client when `[ldap]` is configured, else None.
    pub fn from_config(config: &LdapConfig) -> Result<Option<Directory>, DirectoryError> {
        if !config.enabled() {
            return Ok(None);
        }
        crate::tls::install_crypto_provider();
        let tls = match config.ca_file.as_os_str().is_empty() {
            true => None, // ldap3 then trusts the system certificate store.
            false => Some(Arc::new(client_config(config)?)),
        };
        Ok(Some(Directory { config: Arc::new(config.clone()), tls }))
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.config.timeout_seconds)
    }

    /// Signs in a directory user and returns the refreshed staff record. `Ok(None)` when the
    /// name belongs to a local account (or is not a user name at all): the caller signs that in
    /// locally, so the break-glass administrator works while the directory is down. Refusals
    /// are audited here (directory accounts have no local lockout: the directory's applies).
    pub async fn login(
        &self,
        store: &Store,
        username: &str,
        password: &str,
        ip: IpAddr,
    ) -> Result<Option<UserRow>, DirectoryError> {
        let Ok(name) = Username::parse(username) else { return Ok(None) };
        if store.is_local_account(name.as_str()).await? {
            return Ok(None);
        }
        let result = self.sign_in(store, name.as_str(), password).await;
        if let Err(err) = &result {
            let (actor, why) = match err {
                DirectoryError::WrongPassword { username } => (username.clone(), "wrong password"),
                DirectoryError::Refused { username, why } => (username.clone(), *why),
                DirectoryError::Unavailable => ("(unknown user)".to_owned(), "directory unavailable"),
                _ => ("(unknown user)".to_owned(), "not found in the directory"),
            };
            let entry = AuditEntry::new(actor.clone(), "auth.login_failed")
                .target(actor)
                .details(format!("ip={ip} directory: {why}"));
            store.audit(entry).await?;
        }
        result.map(Some)
    }

    async fn sign_in(&self, store: &Store, name: &str, password: &str) -> Result<UserRow, DirectoryError> {
        let found = self.look_up(name, Some(password), &mut Vec::new()).await?;
        let username = found.user.username.clone();
        let refused = |why: &'static str| {
            // The user name goes to the audit log only, not to the general log.
            tracing::info!(reason = why, "directory sign-in refused");
            DirectoryError::Refused { username: username.clone(), why }
        };
        if found.disabled {
            store.end_directory_sessions(&username).await?;
            return Err(refused("disabled in the directory"));
        }
        let Some(role) = found.role else {
            store.end_directory_sessions(&username).await?;
            return Err(refused("in no group listed in ldap.group_roles"));
        };
        let user = DirectoryUser { role, ..found.user };
        match store.sync_directory_user(user).await? {
            DirectorySync::Ready(_) => store.user_by_name(&username).await?.ok_or(DirectoryError::InvalidCredentials),
            DirectorySync::LocalAccount => Err(refused("a local account has this name")),
            DirectorySync::Disabled => Err(refused("disabled in parley")),
            DirectorySync::UnknownRole => {
                tracing::error!(
                    "ldap.group_roles maps a user's group to a role parley does not have; add the role or fix the list"
                );
                Err(refused("ldap.group_roles names a role parley does not have"))
            }
        }
    }

    /// Runs the exchange for `username` and records each step in `steps`. Without a password,
    /// the bind as the user is skipped (for diagnosis only; `login` always passes one).
    pub async fn look_up(
        &self,
        username: &str,
        password: Option<&str>,
        steps: &mut Vec<Step>,
    ) -> Result<Found, DirectoryError> {
        // An empty password would be an "unauthenticated bind", which LDAP servers accept.
        if password.is_some_and(str::is_empty) {
            steps.push(Step { name: "password", ok: false, detail: "empty password refused".into() });
            return Err(DirectoryError::InvalidCredentials);
        }
        let mut ldap = self.connect(steps).await?;
        let result = self.exchange(&mut ldap, username, password, steps).await;
        if !matches!(result, Err(DirectoryError::Unavailable)) {
            // A hung server would only make the caller wait longer; then the connection is dropped.
            let _ = tokio::time::timeout(self.timeout(), ldap.unbind()).await;
        }
        result
    }

    async fn connect(&self, steps: &mut Vec<Step>) -> Result<Ldap, DirectoryError> {
        let mut settings = LdapConnSettings::new().set_conn_timeout(self.timeout()).set_starttls(self.config.starttls);
        if let Some(tls) = &self.tls {
            settings = settings.set_config(tls.clone());
        }
        let how = if self.config.starttls { "StartTLS" } else { "LDAPS" };
        // The connection timeout covers TCP only; the TLS handshake gets its own bound here.
        let connected =
            tokio::time::timeout(self.timeout() * 2, LdapConnAsync::with_settings(settings, &self.config.url)).await;
        let (conn, ldap) = match connected {
            Ok(Ok(pair)) => pair,
            Ok(Err(err)) => return Err(unavailable(steps, "connect", format!("{how} connection failed: {err}"))),
            Err(_) => return Err(unavailable(steps, "connect", format!("no answer within {:?}", self.timeout() * 2))),
        };
        ldap3::drive!(conn);
        steps.push(Step {
            name: "connect",
            ok: true,
            detail: format!("{} ({how}, certificate verified)", self.config.url),
        });
        Ok(ldap)
    }

    async fn exchange(
        &self,
        ldap: &mut Ldap,
        username: &str,
        password: Option<&str>,
        steps: &mut Vec<Step>,
    ) -> Result<Found, DirectoryError> {
        let c = &self.config;
        match ldap.with_timeout(self.timeout()).simple_bind(&c.bind_dn, c.bind_password.expose()).await {
            Ok(res) if res.rc == 0 => steps.push(Step { name: "service bind", ok: true, detail: c.bind_dn.clone() }),
            Ok(res) => {
                let detail = format!("{} refused: {} {}", c.bind_dn, res.rc, res.text);
                return Err(unavailable(steps, "service bind", detail));
            }
            Err(err) => return Err(unavailable(steps, "service bind", err.to_string())),
        }
        let filter = user_filter(&c.user_filter, username);
        let attrs = vec![
            c.username_attr.as_str(),
            c.display_name_attr.as_str(),
            c.email_attr.as_str(),
            "memberOf",
            "userAccountControl",
        ];
        let searched = ldap.with_timeout(self.timeout()).search(&c.user_base, Scope::Subtree, &filter, attrs).await;
        let entries = match searched {
            Ok(result) if result.1.rc == 0 => result.0,
            Ok(result) => {
                // No filter here: it holds the typed name, and this detail is logged.
                let detail = format!("under {}: {} {}", c.user_base, result.1.rc, result.1.text);
                return Err(unavailable(steps, "search", detail));
            }
            Err(err) => return Err(unavailable(steps, "search", err.to_string())),
        };
        let mut entries = entries.into_iter();
        let (Some(entry), None) = (entries.next(), entries.next()) else {
            let detail = format!("{filter} under {}: not exactly one entry", c.user_base);
            steps.push(Step { name: "search", ok: false, detail });
            return Err(DirectoryError::InvalidCredentials);
        };
        let entry = SearchEntry::construct(entry);
        steps.push(Step { name: "search", ok: true, detail: entry.dn.clone() });
        match password {
            Some(password) => match ldap.with_timeout(self.timeout()).simple_bind(&entry.dn, password).await {
                Ok(res) if res.rc == 0 => {
                    steps.push(Step { name: "user bind", ok: true, detail: "password accepted".into() })
                }
                Ok(res) if res.rc == INVALID_CREDENTIALS => {
                    steps.push(Step {
                        name: "user bind",
                        ok: false,
                        detail: "password refused (or account disabled)".into(),
                    });
                    return Err(DirectoryError::WrongPassword { username: self.read_entry(&entry).user.username });
                }
                Ok(res) => return Err(unavailable(steps, "user bind", format!("{} {}", res.rc, res.text))),
                Err(err) => return Err(unavailable(steps, "user bind", err.to_string())),
            },
            None => steps.push(Step { name: "user bind", ok: true, detail: "skipped: no password given".into() }),
        }
        let found = self.read_entry(&entry);
        let disabled_detail = match found.disabled {
            true => "disabled (userAccountControl has bit 2 set)",
            false => "enabled",
        };
        steps.push(Step { name: "account", ok: !found.disabled, detail: disabled_detail.into() });
        let detail = match &found.role {
            Some(role) => format!("role {role}"),
            None => "none of the ldap.group_roles groups is among the user's groups".to_owned(),
        };
        steps.push(Step { name: "groups", ok: found.role.is_some(), detail });
        Ok(found)
    }

    fn read_entry(&self, entry: &SearchEntry) -> Found {
        let c = &self.config;
        let first = |attr: &str| attr_values(entry, attr).into_iter().next().map(|v| v.trim().to_owned());
        let username = first(&c.username_attr).unwrap_or_default().to_lowercase();
        let display_name = first(&c.display_name_attr).filter(|d| !d.is_empty()).unwrap_or_else(|| username.clone());
        let email = first(&c.email_attr).filter(|e| !e.is_empty());
        let disabled = first("userAccountControl")
            .and_then(|v| v.parse::<i64>().ok())
            .is_some_and(|flags| (flags as u64) & ACCOUNT_DISABLE != 0);
        let groups: Vec<String> = attr_values(entry, "memberOf");
        let role = map_role(&c.group_roles, &groups);
        let user = DirectoryUser { username, display_name, email, role: String::new(), dn: entry.dn.clone() };
        // A directory name parley cannot use as a user name gets no access.
        let role = role.filter(|_| Username::parse(&user.username).is_ok_and(|n| n.as_str() == user.username));
        Found { user, disabled, role, groups }
    }
}

/// Wrong password and unknown user give the local accounts' answer, word for word.
impl From<DirectoryError> for crate::service::accounts::AccountError {
    fn from(err: DirectoryError) -> Self {
        use crate::service::accounts::AccountError;
        match err {
            DirectoryError::InvalidCredentials | DirectoryError::WrongPassword { .. } => {
                AccountError::InvalidCredentials
            }
            DirectoryError::Store(store) => store.into(),
            other => AccountError::Directory(other),
        }
    }
}

fn unavailable(steps: &mut Vec<Step>, name: &'static str, detail: String) -> DirectoryError {
    tracing::warn!(step = name, problem = %detail, "directory unavailable");
    steps.push(Step { name, ok: false, detail });
    DirectoryError::Unavailable
}

/// The values of an attribute, whatever case the server spells its name in.
fn attr_values(entry: &SearchEntry, attr: &str) -> Vec<String> {
    entry.attrs.iter().filter(|(name, _)| name.eq_ignore_ascii_case(attr)).flat_map(|(_, v)| v.clone()).collect()
}

/// The role of the first `group_roles` entry whose group is among `groups` (config order).
fn map_role(group_roles: &[crate::config::GroupRole], groups: &[String]) -> Option<String> {
    let groups: Vec<String> = groups.iter().map(|g| normalise_dn(g)).collect();
    group_roles.iter().find(|m| groups.contains(&normalise_dn(&m.group))).map(|m| m.role.trim().to_ascii_lowercase())
}

/// DNs compare case-insensitively and without spaces around `,` and `=`.
fn normalise_dn(dn: &str) -> String {
    let parts: Vec<String> =
        dn.split(',').map(|rdn| rdn.split('=').map(str::trim).collect::<Vec<_>>().join("=").to_lowercase()).collect();
    parts.join(",")
}

/// `ldap.user_filter` with every `{username}` replaced by the escaped name.
pub fn user_filter(template: &str, username: &str) -> String {
    template.replace("{username}", &escape_filter_value(username))
}

/// Escapes a value for an LDAP search filter (RFC 4515, section 3): `*`, `(`, `)`, `\` and NUL
/// become `\2a`, `\28`, `\29`, `\5c`, `\00`, so input can never change the filter's shape.
pub fn escape_filter_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            other => out.push(other),
        }
    }
    out
}

/// TLS settings trusting exactly the certificates in `ldap.ca_file`, with the ring provider.
fn client_config(config: &LdapConfig) -> Result<ClientConfig, DirectoryError> {
    let path = config.ca_file.display().to_string();
    let problem = |message: String| DirectoryError::CaFile { path: path.clone(), message };
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(&config.ca_file).map_err(|e| problem(e.to_string()))?;
    for cert in certs {
        let cert = cert.map_err(|e| problem(e.to_string()))?;
        roots.add(cert).map_err(|e| problem(format!("not a usable CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(problem("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into()));
    }
    Ok(ClientConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| problem(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::GroupRole;

    #[test]
    fn filter_values_are_escaped_per_rfc4515() {
        assert_eq!(escape_filter_value("jsmith"), "jsmith");
        assert_eq!(escape_filter_value("*"), "\\2a");
        assert_eq!(escape_filter_value("a(b)c"), "a\\28b\\29c");
        assert_eq!(escape_filter_value("back\\slash"), "back\\5cslash");
        assert_eq!(escape_filter_value("nul\0"), "nul\\00");
        assert_eq!(escape_filter_value("Zoë"), "Zoë");
    }

    #[test]
    fn injection_cannot_change_the_filter_shape() {
        let template = "(&(objectClass=user)(|(sAMAccountName={username})(userPrincipalName={username})))";
        let filter = user_filter(template, "*)(sAMAccountName=*");
        assert_eq!(
            filter,
            "(&(objectClass=user)(|(sAMAccountName=\\2a\\29\\28sAMAccountName=\\2a)(userPrincipalName=\\2a\\29\\28sAMAccountName=\\2a)))"
        );
        let opens = filter.matches('(').count();
        assert_eq!(opens, template.matches('(').count(), "no parenthesis added");
        assert_eq!(opens, filter.matches(')').count());
    }

    #[test]
    fn first_listed_group_decides_the_role() {
        let mapping = |group: &str, role: &str| GroupRole { group: group.into(), role: role.into() };
        let config = vec![
            mapping("CN=Parley Admins,OU=Groups,DC=example,DC=local", "administrator"),
            mapping("CN=Parley Operators,OU=Groups,DC=example,DC=local", "operator"),
        ];
        let both = vec![
            "cn=parley operators, ou=Groups, dc=example, dc=local".to_owned(),
            "CN=Parley Admins,OU=Groups,DC=example,DC=local".to_owned(),
        ];
        assert_eq!(map_role(&config, &both).as_deref(), Some("administrator"));
        assert_eq!(map_role(&config, &both[..1]).as_deref(), Some("operator"));
        assert_eq!(map_role(&config, &["CN=Finance,DC=example,DC=local".to_owned()]), None);
        assert_eq!(map_role(&config, &[]), None);
    }
}
