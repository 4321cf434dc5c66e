//! Permissions are module × action (`stored_chats.view`, `gdpr.delete`, …). Built-in roles have
//! fixed sets defined here (docs/security.md, "Roles and permissions"); custom roles store theirs
//! in the `roles` table as the same `module.action` names.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Module {
    Chats,
    StoredChats,
    VisitorActivity,
    OfflineRequests,
    Prospects,
    Reports,
    Users,
    Roles,
    Settings,
    Gdpr,
    Audit,
    Backups,
    Keys,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    View,
    Store,
    Delete,
    Export,
    Manage,
}

impl Module {
    pub const ALL: [Module; 13] = [
        Module::Chats,
        Module::StoredChats,
        Module::VisitorActivity,
        Module::OfflineRequests,
        Module::Prospects,
        Module::Reports,
        Module::Users,
        Module::Roles,
        Module::Settings,
        Module::Gdpr,
        Module::Audit,
        Module::Backups,
        Module::Keys,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Module::Chats => "chats",
            Module::StoredChats => "stored_chats",
            Module::VisitorActivity => "visitor_activity",
            Module::OfflineRequests => "offline_requests",
            Module::Prospects => "prospects",
            Module::Reports => "reports",
            Module::Users => "users",
            Module::Roles => "roles",
            Module::Settings => "settings",
            Module::Gdpr => "gdpr",
            Module::Audit => "audit",
            Module::Backups => "backups",
            Module::Keys => "keys",
        }
    }
}

impl Action {
    pub const ALL: [Action; 5] = [Action::View, Action::Store, Action::Delete, Action::Export, Action::Manage];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::Store => "store",
            Action::Delete => "delete",
            Action::Export => "export",
            Action::Manage => "manage",
        }
    }
}

/// One module × action pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Permission {
    pub module: Module,
    pub action: Action,
}

impl Permission {
    pub const fn new(module: Module, action: Action) -> Permission {
        Permission { module, action }
    }

    const fn bit(self) -> u128 {
        1u128 << (self.module as u32 * 5 + self.action as u32)
    }

    /// `module.action`, e.g. `stored_chats.view`.
    pub fn parse(raw: &str) -> Result<Permission, String> {
        let (module, action) = raw.trim().split_once('.').ok_or_else(|| format!("`{raw}` is not module.action"))?;
        let module = Module::ALL
            .into_iter()
            .find(|m| m.as_str() == module)
            .ok_or_else(|| format!("unknown module `{module}` in `{raw}`"))?;
        let action = Action::ALL.into_iter().find(|a| a.as_str() == action).ok_or_else(|| {
            format!("unknown action `{action}` in `{raw}`; actions are view, store, delete, export, manage")
        })?;
        Ok(Permission { module, action })
    }

    /// Every permission, module by module.
    pub fn all() -> impl Iterator<Item = Permission> {
        Module::ALL.into_iter().flat_map(|m| Action::ALL.into_iter().map(move |a| Permission::new(m, a)))
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.module.as_str(), self.action.as_str())
    }
}

/// A set of permissions (13 modules × 5 actions fit in 65 bits).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PermissionSet(u128);

impl PermissionSet {
    pub const fn empty() -> PermissionSet {
        PermissionSet(0)
    }

    pub fn has(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    pub fn with(self, permission: Permission) -> PermissionSet {
        PermissionSet(self.0 | permission.bit())
    }

    pub fn union(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 | other.0)
    }

    pub fn of(list: &[Permission]) -> PermissionSet {
        list.iter().fold(PermissionSet::empty(), |set, p| set.with(*p))
    }

    /// Parses names like `["chats.view", "gdpr.export"]`; names the first bad one.
    pub fn parse_all<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<PermissionSet, String> {
        names
            .into_iter()
            .filter(|n| !n.trim().is_empty())
            .try_fold(PermissionSet::empty(), |set, name| Ok(set.with(Permission::parse(name)?)))
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::all().filter(move |p| self.has(*p))
    }

    pub fn names(self) -> Vec<String> {
        self.iter().map(|p| p.to_string()).collect()
    }
}

/// Named permissions for route tables (`perm::STORED_CHATS_VIEW`, …).
pub mod perm {
    use super::{Action, Module, Permission};

    macro_rules! named {
        ($($name:ident = $module:ident . $action:ident;)*) => {
            $(pub const $name: Permission = Permission::new(Module::$module, Action::$action);)*
        };
    }

    named! {
        CHATS_VIEW = Chats.View;
        CHATS_STORE = Chats.Store;
        CHATS_MANAGE = Chats.Manage;
        STORED_CHATS_VIEW = StoredChats.View;
        OFFLINE_VIEW = OfflineRequests.View;
        OFFLINE_STORE = OfflineRequests.Store;
        OFFLINE_MANAGE = OfflineRequests.Manage;
        USERS_VIEW = Users.View;
        USERS_MANAGE = Users.Manage;
        ROLES_VIEW = Roles.View;
        ROLES_MANAGE = Roles.Manage;
        SETTINGS_VIEW = Settings.View;
        SETTINGS_MANAGE = Settings.Manage;
        GDPR_VIEW = Gdpr.View;
        GDPR_STORE = Gdpr.Store;
        GDPR_DELETE = Gdpr.Delete;
        GDPR_EXPORT = Gdpr.Export;
        GDPR_MANAGE = Gdpr.Manage;
        AUDIT_VIEW = Audit.View;
        AUDIT_EXPORT = Audit.Export;
        BACKUPS_VIEW = Backups.View;
        BACKUPS_EXPORT = Backups.Export;
        BACKUPS_MANAGE = Backups.Manage;
        KEYS_VIEW = Keys.View;
    }
}

use Action::{Delete, Export, Manage, Store, View};
use Module::*;

const fn p(module: Module, action: Action) -> Permission {
    Permission::new(module, action)
}

const OPERATOR: &[Permission] = &[
    p(Chats, View),
    p(Chats, Store),
    p(StoredChats, View),
    p(VisitorActivity, View),
    p(OfflineRequests, View),
    p(OfflineRequests, Store),
    p(Prospects, View),
    p(Prospects, Store),
];

const SUPERVISOR_EXTRA: &[Permission] = &[
    p(Chats, Manage),
    p(StoredChats, Export),
    p(OfflineRequests, Manage),
    p(Prospects, Export),
    p(Reports, View),
    p(Reports, Export),
    p(Users, View),
];

const ADMINISTRATOR: &[Permission] = &[
    p(Chats, View),
    p(Chats, Store),
    p(Chats, Manage),
    p(StoredChats, View),
    p(StoredChats, Export),
    p(StoredChats, Delete),
    p(VisitorActivity, View),
    p(OfflineRequests, View),
    p(OfflineRequests, Store),
    p(OfflineRequests, Delete),
    p(OfflineRequests, Manage),
    p(Prospects, View),
    p(Prospects, Store),
    p(Prospects, Export),
    p(Reports, View),
    p(Reports, Export),
    p(Users, View),
    p(Users, Manage),
    p(Roles, View),
    p(Roles, Manage),
    p(Settings, View),
    p(Settings, Manage),
    p(Gdpr, View),
    p(Gdpr, Store),
    p(Gdpr, Export),
    p(Gdpr, Manage),
    p(Audit, View),
    p(Audit, Export),
    p(Backups, View),
    p(Backups, Export),
    p(Backups, Manage),
    p(Keys, View),
    p(Keys, Manage),
];

const DPO: &[Permission] = &[
    p(StoredChats, View),
    p(StoredChats, Export),
    p(VisitorActivity, View),
    p(OfflineRequests, View),
    p(Prospects, View),
    p(Reports, View),
    p(Settings, View),
    p(Gdpr, View),
    p(Gdpr, Store),
    p(Gdpr, Delete),
    p(Gdpr, Export),
    p(Gdpr, Manage),
    p(Audit, View),
    p(Audit, Export),
    p(Backups, View),
    p(Keys, View),
];

const AUDITOR: &[Permission] = &[
    p(Reports, View),
    p(Users, View),
    p(Roles, View),
    p(Settings, View),
    p(Audit, View),
    p(Audit, Export),
    p(Backups, View),
    p(Keys, View),
];

/// The fixed permissions of a built-in role; `None` for any other name.
pub fn builtin(role: &str) -> Option<PermissionSet> {
    Some(match role {
        "operator" => PermissionSet::of(OPERATOR),
        "supervisor" => PermissionSet::of(OPERATOR).union(PermissionSet::of(SUPERVISOR_EXTRA)),
        "administrator" => PermissionSet::of(ADMINISTRATOR),
        "dpo" => PermissionSet::of(DPO),
        "auditor" => PermissionSet::of(AUDITOR),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bits_are_distinct() {
        let all: Vec<Permission> = Permission::all().collect();
        assert_eq!(all.len(), 65);
        let mut set = PermissionSet::empty();
        for permission in &all {
            assert!(!set.has(*permission), "{permission} shares a bit");
            set = set.with(*permission);
            assert_eq!(Permission::parse(&permission.to_string()), Ok(*permission));
        }
        assert_eq!(set.iter().count(), 65);
    }

    #[test]
    fn parse_names_the_bad_part() {
        assert!(Permission::parse("chats").unwrap_err().contains("module.action"));
        assert!(Permission::parse("chat.view").unwrap_err().contains("unknown module `chat`"));
        assert!(Permission::parse("chats.read").unwrap_err().contains("unknown action `read`"));
        let set = PermissionSet::parse_all(["gdpr.delete", " audit.view "]).expect("valid");
        assert_eq!(set.names(), vec!["gdpr.delete", "audit.view"]);
    }

    #[test]
    fn builtin_roles_differ_where_documented() {
        let erase = Permission::new(Module::Gdpr, Action::Delete);
        assert!(builtin("dpo").expect("dpo").has(erase));
        assert!(!builtin("administrator").expect("admin").has(erase), "erasure is the DPO's alone");
        let supervise = Permission::new(Module::Chats, Action::Manage);
        assert!(builtin("supervisor").expect("supervisor").has(supervise));
        assert!(!builtin("operator").expect("operator").has(supervise));
        assert!(!builtin("auditor").expect("auditor").has(Permission::new(Module::StoredChats, Action::View)));
        assert_eq!(builtin("root"), None);
    }
}
