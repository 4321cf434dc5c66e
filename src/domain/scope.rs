//! A role's team scope: whether its members reach every chat, offline request and transcript,
//! or only those of the departments (teams) they belong to — for appliances shared by several
//! organisations, e.g. a council and a police force.

use serde::{Deserialize, Serialize};

/// A role property (`roles.scope`); built-in roles are `All`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    #[default]
    All,
    OwnTeams,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::All => "all",
            Scope::OwnTeams => "own_teams",
        }
    }

    pub fn parse(raw: &str) -> Result<Scope, String> {
        match raw.trim() {
            "all" => Ok(Scope::All),
            "own_teams" => Ok(Scope::OwnTeams),
            other => Err(format!("unknown scope `{other}`; choose all or own_teams")),
        }
    }
}

/// What one staff member may reach now: everything, or the chats and offline requests of these
/// departments (ids). A chat with no department is outside every team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    All,
    Teams(Vec<i64>),
}

impl Reach {
    pub fn allows(&self, department: Option<i64>) -> bool {
        match self {
            Reach::All => true,
            Reach::Teams(ids) => department.is_some_and(|d| ids.contains(&d)),
        }
    }

    /// The department ids as a JSON array for SQL (`json_each`), or None for everything.
    pub fn json(&self) -> Option<String> {
        match self {
            Reach::All => None,
            Reach::Teams(ids) => Some(format!("[{}]", ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_and_reach_is_strict() {
        for scope in [Scope::All, Scope::OwnTeams] {
            assert_eq!(Scope::parse(scope.as_str()), Ok(scope));
        }
        assert!(Scope::parse("mine").unwrap_err().contains("own_teams"));
        let teams = Reach::Teams(vec![2, 5]);
        assert!(teams.allows(Some(5)) && !teams.allows(Some(3)) && !teams.allows(None));
        assert!(Reach::All.allows(None));
        assert_eq!(teams.json().as_deref(), Some("[2,5]"));
        assert_eq!(Reach::Teams(Vec::new()).json().as_deref(), Some("[]"));
        assert_eq!(Reach::All.json(), None);
    }
}
