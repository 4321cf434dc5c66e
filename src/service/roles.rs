//! Roles and their permissions, kept in memory (every request asks) and written through to the
//! `roles` table; plus the per-role login restrictions (networks and UK-time hours).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use serde::Serialize;
use time::OffsetDateTime;

use super::hours::Schedule;
use crate::domain::{PermissionSet, Scope, permission};
use crate::store::{AuditEntry, RoleDelete, RoleRow, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error("{0}")]
    Invalid(String),
    #[error("no role named `{0}`")]
    Unknown(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for RoleError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(what) => RoleError::Conflict(format!("{what} already exists")),
            other => RoleError::Store(other),
        }
    }
}

/// An IP network such as `10.20.0.0/16` or `2001:db8::/32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(raw: &str) -> Result<Cidr, String> {
        let raw = raw.trim();
        let bad = || format!("`{raw}` is not a network; write it like 10.20.0.0/16, 192.0.2.7 or 2001:db8::/32");
        let (address, prefix) = match raw.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (raw, None),
        };
        let network: IpAddr = address.parse().map_err(|_| bad())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        let cidr = Cidr { network, prefix };
        if cidr.mask(network) != network {
            return Err(format!("`{raw}` has host bits set; did you mean {}/{prefix}?", cidr.mask(network)));
        }
        Ok(cidr)
    }

    fn mask(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => {
                let bits = u32::from(v4);
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                IpAddr::V4((bits & mask).into())
            }
            IpAddr::V6(v6) => {
                let bits = u128::from(v6);
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                IpAddr::V6((bits & mask).into())
            }
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.network.is_ipv4() && self.mask(ip) == self.network
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// A role as handlers see it.
#[derive(Debug, Clone, Serialize)]
pub struct RoleDef {
    pub name: String,
    pub description: String,
    pub builtin: bool,
    #[serde(serialize_with = "permission_names")]
    pub permissions: PermissionSet,
    #[serde(serialize_with = "network_names")]
    pub allowed_networks: Vec<Cidr>,
    pub login_hours: Schedule,
    /// `all`, or `own_teams`: only the chats, offline requests and transcripts of the
    /// departments the member belongs to.
    pub scope: Scope,
}

fn permission_names<S: serde::Serializer>(set: &PermissionSet, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(set.names())
}

fn network_names<S: serde::Serializer>(list: &[Cidr], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(list.iter().map(|c| c.to_string()))
}

/// What an administrator sends to create or change a role.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    #[serde(default)]
    pub description: String,
    /// Ignored for built-in roles, whose permissions are fixed.
    #[serde(default)]
    pub permissions: Vec<String>,
    #[serde(default)]
    pub allowed_networks: Vec<String>,
    #[serde(default)]
    pub login_hours: Schedule,
    /// `all` (default) or `own_teams`; built-in roles are always `all`.
    #[serde(default)]
    pub scope: Option<String>,
}

/// Why a login was refused by its role's restrictions (said in general terms to the user).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Network,
    Hours,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Network => "login_network_refused",
            Refusal::Hours => "login_hours_refused",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Refusal::Network => "your role may not sign in from this network; ask your administrator",
            Refusal::Hours => "your role may not sign in at this time of day; ask your administrator",
        }
    }
}

const MAX_NETWORKS: usize = 64;
const MAX_DESCRIPTION: usize = 200;

fn check_name(name: &str) -> Result<(), RoleError> {
    let ok = (2..=40).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && name.starts_with(|c: char| c.is_ascii_lowercase());
    if ok {
        Ok(())
    } else {
        Err(RoleError::Invalid(format!(
            "`{name}` is not a role name: 2 to 40 lower-case letters, digits, _ or -, starting with a letter"
        )))
    }
}

fn def_from_row(row: RoleRow) -> RoleDef {
    let permissions = match permission::builtin(&row.name).filter(|_| row.builtin) {
        Some(set) => set,
        None => serde_json::from_str::<Vec<String>>(&row.permissions)
            .ok()
            .and_then(|names| PermissionSet::parse_all(names.iter().map(String::as_str)).ok())
            .unwrap_or_default(),
    };
    let allowed_networks = serde_json::from_str::<Vec<String>>(&row.allowed_networks)
        .unwrap_or_default()
        .iter()
        .filter_map(|n| Cidr::parse(n).ok())
        .collect();
    let login_hours = serde_json::from_str(&row.login_hours).unwrap_or_default();
    // An unreadable scope narrows rather than widens.
    let scope = if row.builtin { Scope::All } else { Scope::parse(&row.scope).unwrap_or(Scope::OwnTeams) };
    RoleDef {
        name: row.name,
        description: row.description,
        builtin: row.builtin,
        permissions,
        allowed_networks,
        login_hours,
        scope,
    }
}

#[derive(Clone)]
pub struct Roles {
    store: Store,
    cache: Arc<RwLock<Arc<HashMap<String, RoleDef>>>>,
}

impl Roles {
    pub async fn load(store: Store) -> Result<Roles, StoreError> {
        let roles = Roles { store, cache: Arc::default() };
        roles.reload().await?;
        Ok(roles)
    }

    async fn reload(&self) -> Result<(), StoreError> {
        let map: HashMap<String, RoleDef> =
            self.store.roles().await?.into_iter().map(def_from_row).map(|d| (d.name.clone(), d)).collect();
        let mut slot = self.cache.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        *slot = Arc::new(map);
        Ok(())
    }

    fn snapshot(&self) -> Arc<HashMap<String, RoleDef>> {
        Arc::clone(&self.cache.read().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// The permissions of a role; none for a name that is not a role (any more).
    pub fn permissions(&self, role: &str) -> PermissionSet {
        permission::builtin(role).or_else(|| self.snapshot().get(role).map(|d| d.permissions)).unwrap_or_default()
    }

    /// The team scope of a role; built-in roles (and unknown names, which have no permissions)
    /// reach everything their permissions allow.
    pub fn scope(&self, role: &str) -> Scope {
        if permission::builtin(role).is_some() {
            return Scope::All;
        }
        self.snapshot().get(role).map(|d| d.scope).unwrap_or(Scope::All)
    }

    pub fn exists(&self, role: &str) -> bool {
        permission::builtin(role).is_some() || self.snapshot().contains_key(role)
    }

    /// Every role: built-in first, then custom, by name.
    pub fn list(&self) -> Vec<RoleDef> {
        let mut list: Vec<RoleDef> = self.snapshot().values().cloned().collect();
        list.sort_by(|a, b| b.builtin.cmp(&a.builtin).then_with(|| a.name.cmp(&b.name)));
        list
    }

    /// Whether a member of `role` may sign in from `ip` at `at`.
    pub fn login_allowed(&self, role: &str, ip: IpAddr, at: OffsetDateTime) -> Result<(), Refusal> {
        let Some(def) = self.snapshot().get(role).cloned() else {
            return Ok(());
        };
        if !def.allowed_networks.is_empty() && !def.allowed_networks.iter().any(|n| n.contains(ip)) {
            return Err(Refusal::Network);
        }
        let hours = super::hours::Hours {
            schedule: Some(&def.login_hours),
            closed_on_bank_holidays: false,
            bank_holidays: &std::collections::BTreeSet::new(),
        };
        if !def.login_hours.0.is_empty() && !hours.is_open(at) {
            return Err(Refusal::Hours);
        }
        Ok(())
    }

    /// Creates (`create`) or changes a role; audited.
    pub async fn put(&self, name: &str, input: RoleInput, create: bool, actor: &str) -> Result<RoleDef, RoleError> {
        check_name(name)?;
        let builtin = permission::builtin(name).is_some();
        if create && builtin {
            return Err(RoleError::Conflict(format!("`{name}` is a built-in role")));
        }
        if !create && !self.exists(name) {
            return Err(RoleError::Unknown(name.to_owned()));
        }
        let description = input.description.trim().to_owned();
        if description.chars().count() > MAX_DESCRIPTION {
            return Err(RoleError::Invalid(format!("a description has at most {MAX_DESCRIPTION} characters")));
        }
        let permissions = PermissionSet::parse_all(input.permissions.iter().map(String::as_str))
            .map_err(|e| RoleError::Invalid(format!("permissions: {e}")))?;
        if input.allowed_networks.len() > MAX_NETWORKS {
            return Err(RoleError::Invalid(format!("at most {MAX_NETWORKS} networks per role")));
        }
        let networks = input
            .allowed_networks
            .iter()
            .map(|n| Cidr::parse(n))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| RoleError::Invalid(format!("allowed_networks: {e}")))?;
        input.login_hours.check().map_err(|e| RoleError::Invalid(format!("login_hours: {e}")))?;
        let scope = match input.scope.as_deref() {
            None => Scope::All,
            Some(raw) => Scope::parse(raw).map_err(|e| RoleError::Invalid(format!("scope: {e}")))?,
        };
        if builtin && scope != Scope::All {
            return Err(RoleError::Invalid("scope: built-in roles reach all teams; make a custom role".into()));
        }
        let row = RoleRow {
            name: name.to_owned(),
            description,
            builtin,
            permissions: if builtin { "[]".into() } else { to_json(&permissions.names()) },
            allowed_networks: to_json(&networks.iter().map(|c| c.to_string()).collect::<Vec<_>>()),
            login_hours: to_json(&input.login_hours),
            scope: scope.as_str().to_owned(),
        };
        let details = format!(
            "permissions: {}; networks: {}; hours: {}; scope: {}",
            if builtin { "built-in".to_owned() } else { permissions.names().join(" ") },
            row.allowed_networks,
            row.login_hours,
            row.scope
        );
        if !self.store.put_role(row, create).await? {
            return Err(RoleError::Unknown(name.to_owned()));
        }
        self.reload().await?;
        let action = if create { "role.create" } else { "role.update" };
        self.store
            .audit(AuditEntry::new(actor.to_owned(), action).target(format!("role {name}")).details(details))
            .await?;
        self.snapshot().get(name).cloned().ok_or_else(|| RoleError::Unknown(name.to_owned()))
    }

    pub async fn delete(&self, name: &str, actor: &str) -> Result<(), RoleError> {
        match self.store.delete_role(name.to_owned()).await? {
            RoleDelete::Deleted => {}
            RoleDelete::Missing => return Err(RoleError::Unknown(name.to_owned())),
            RoleDelete::Builtin => return Err(RoleError::Conflict(format!("`{name}` is a built-in role"))),
            RoleDelete::InUse(users) => {
                return Err(RoleError::Conflict(format!(
                    "{users} user(s) still have the role `{name}`; give them another role first"
                )));
            }
        }
        self.reload().await?;
        self.store.audit(AuditEntry::new(actor.to_owned(), "role.delete").target(format!("role {name}"))).await?;
        Ok(())
    }
}

/// JSON text of plain lists and maps (which always serialise).
fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parse_and_contains() {
        let net = Cidr::parse("10.20.0.0/16").expect("valid");
        assert!(net.contains("10.20.3.4".parse().expect("ip")));
        assert!(!net.contains("10.21.0.1".parse().expect("ip")));
        assert!(net.contains("::ffff:10.20.9.9".parse().expect("mapped")), "IPv4-mapped IPv6 peers count");
        let one = Cidr::parse("192.0.2.7").expect("single address");
        assert!(one.contains("192.0.2.7".parse().expect("ip")));
        assert!(!one.contains("192.0.2.8".parse().expect("ip")));
        let v6 = Cidr::parse("2001:db8::/32").expect("v6");
        assert!(v6.contains("2001:db8:1::5".parse().expect("ip")));
        assert!(!v6.contains("10.20.3.4".parse().expect("ip")));
        assert!(Cidr::parse("0.0.0.0/0").expect("any").contains("203.0.113.1".parse().expect("ip")));
        assert!(Cidr::parse("10.20.0.1/16").unwrap_err().contains("10.20.0.0/16"));
        assert!(Cidr::parse("10.20.0.0/33").is_err());
        assert!(Cidr::parse("intranet").unwrap_err().contains("not a network"));
    }

    #[test]
    fn role_names() {
        assert!(check_name("helpdesk").is_ok());
        assert!(check_name("night-shift_2").is_ok());
        assert!(check_name("Admin").is_err());
        assert!(check_name("2nd").is_err());
        assert!(check_name("a").is_err());
    }
}
