//! Built-in staff roles. Permissions per role arrive with the access-control work; for now a
//! role decides which surfaces a user may open.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Operator,
    Supervisor,
    Administrator,
    Dpo,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Operator, Role::Supervisor, Role::Administrator, Role::Dpo, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Supervisor => "supervisor",
            Role::Administrator => "administrator",
            Role::Dpo => "dpo",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(raw: &str) -> Result<Role, String> {
        Role::ALL.into_iter().find(|r| r.as_str() == raw.trim().to_ascii_lowercase()).ok_or_else(|| {
            let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
            format!("unknown role `{raw}`; choose one of: {}", names.join(", "))
        })
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("root").unwrap_err().contains("administrator"));
    }
}
