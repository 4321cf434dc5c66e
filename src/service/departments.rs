//! Departments (teams with members, a routing mode and business hours) and the appliance's
//! bank-holiday list, kept in memory for routing and availability and written through to the
//! database.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::service::hours::{self, Hours, Region, Schedule};
use crate::store::{NewDepartment, Store, StoreError};
use crate::util::rfc3339;

#[derive(Debug, thiserror::Error)]
pub enum DepartmentError {
    #[error("{0}")]
    Invalid(String),
    #[error("no department with key `{0}`")]
    Unknown(String),
    #[error("{0} is not in the bank-holiday list")]
    UnknownHoliday(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    LeastBusy,
    RoundRobin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    #[default]
    Auto,
    Manual,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: i64,
    pub username: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub id: i64,
    pub key: String,
    pub name: String,
    pub name_cy: Option<String>,
    pub routing: Mode,
    pub assignment: Assignment,
    pub hours: Option<Schedule>,
    pub closed_on_bank_holidays: bool,
    pub members: Vec<Member>,
}

impl Department {
    pub fn has_member(&self, user_id: i64) -> bool {
        self.members.iter().any(|m| m.user_id == user_id)
    }

    /// `{key, name}` as frames and lists show it.
    pub fn label(&self) -> serde_json::Value {
        serde_json::json!({ "key": self.key, "name": self.name })
    }
}

/// What an administrator sends to create or change a department.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentInput {
    pub name: String,
    #[serde(default)]
    pub name_cy: Option<String>,
    #[serde(default)]
    pub routing: Mode,
    #[serde(default)]
    pub assignment: Assignment,
    #[serde(default)]
    pub hours: Option<Schedule>,
    #[serde(default = "yes")]
    pub closed_on_bank_holidays: bool,
    #[serde(default)]
    pub members: Vec<String>,
}

fn yes() -> bool {
    true
}

/// A department as the API and the widget show it, with its state now.
#[derive(Debug, Clone, Serialize)]
pub struct DepartmentView {
    pub key: String,
    pub name: String,
    pub name_cy: Option<String>,
    pub routing: Mode,
    pub assignment: Assignment,
    pub hours: Option<Schedule>,
    pub closed_on_bank_holidays: bool,
    pub members: Vec<String>,
    pub open: bool,
    pub available: bool,
    pub opens_at: Option<String>,
}

#[derive(Debug, Default)]
struct Snapshot {
    departments: Vec<Department>,
    holidays: BTreeSet<Date>,
}

#[derive(Clone)]
pub struct Departments {
    store: Store,
    cache: Arc<RwLock<Snapshot>>,
}

/// A department key: 1–64 of a–z, 0–9, `-`, `_`.
pub fn check_key(raw: &str) -> Result<String, DepartmentError> {
    let ok = !raw.is_empty()
        && raw.len() <= 64
        && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(DepartmentError::Invalid("a department key has 1 to 64 of a–z, 0–9, - or _".into()))
    }
}

fn check_name(what: &str, raw: &str) -> Result<String, DepartmentError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DepartmentError::Invalid(format!("{what} has 1 to 100 characters")));
    }
    Ok(name.to_owned())
}

impl Departments {
    pub async fn load(store: Store) -> Result<Departments, DepartmentError> {
        let departments = Departments { store, cache: Arc::default() };
        departments.refresh().await?;
        Ok(departments)
    }

    async fn refresh(&self) -> Result<(), DepartmentError> {
        let rows = self.store.departments().await?;
        let members = self.store.department_members().await?;
        let departments = rows
            .into_iter()
            .map(|r| Department {
                id: r.id,
                members: members
                    .iter()
                    .filter(|(d, _, _)| *d == r.id)
                    .map(|(_, user_id, username)| Member { user_id: *user_id, username: username.clone() })
                    .collect(),
                key: r.key,
                name: r.name,
                name_cy: r.name_cy,
                routing: if r.routing == "round_robin" { Mode::RoundRobin } else { Mode::LeastBusy },
                assignment: if r.assignment == "manual" { Assignment::Manual } else { Assignment::Auto },
                hours: r.hours.as_deref().and_then(|h| serde_json::from_str(h).ok()),
                closed_on_bank_holidays: r.closed_on_bank_holidays,
            })
            .collect();
        let holidays = self.store.bank_holidays().await?.iter().filter_map(|(d, _)| hours::parse_date(d)).collect();
        if let Ok(mut cache) = self.cache.write() {
            *cache = Snapshot { departments, holidays };
        }
        Ok(())
    }

    pub fn list(&self) -> Vec<Department> {
        self.cache.read().map(|c| c.departments.clone()).unwrap_or_default()
    }

    pub fn get(&self, key: &str) -> Option<Department> {
        self.cache.read().ok().and_then(|c| c.departments.iter().find(|d| d.key == key).cloned())
    }

    pub fn by_id(&self, id: i64) -> Option<Department> {
        self.cache.read().ok().and_then(|c| c.departments.iter().find(|d| d.id == id).cloned())
    }

    /// What a member of a role with `scope` reaches now: everything, or the departments
    /// `user_id` belongs to (membership changes apply at once).
    pub fn reach(&self, scope: crate::domain::Scope, user_id: i64) -> crate::domain::Reach {
        match scope {
            crate::domain::Scope::All => crate::domain::Reach::All,
            crate::domain::Scope::OwnTeams => crate::domain::Reach::Teams(
                self.cache
                    .read()
                    .map(|c| c.departments.iter().filter(|d| d.has_member(user_id)).map(|d| d.id).collect())
                    .unwrap_or_default(),
            ),
        }
    }

    fn with_hours<T>(&self, department: &Department, f: impl FnOnce(Hours<'_>) -> T) -> Option<T> {
        let cache = self.cache.read().ok()?;
        Some(f(Hours {
            schedule: department.hours.as_ref(),
            closed_on_bank_holidays: department.closed_on_bank_holidays,
            bank_holidays: &cache.holidays,
        }))
    }

    /// Open now by its hours and the bank holidays.
    pub fn is_open(&self, department: &Department, at: OffsetDateTime) -> bool {
        self.with_hours(department, |h| h.is_open(at)).unwrap_or(true)
    }

    /// Open now and at least one member among `available` user ids.
    pub fn is_available(&self, department: &Department, available: &[i64], at: OffsetDateTime) -> bool {
        available.iter().any(|u| department.has_member(*u)) && self.is_open(department, at)
    }

    pub fn view(&self, department: &Department, available: &[i64], at: OffsetDateTime) -> DepartmentView {
        let open = self.is_open(department, at);
        DepartmentView {
            key: department.key.clone(),
            name: department.name.clone(),
            name_cy: department.name_cy.clone(),
            routing: department.routing,
            assignment: department.assignment,
            hours: department.hours.clone(),
            closed_on_bank_holidays: department.closed_on_bank_holidays,
            members: department.members.iter().map(|m| m.username.clone()).collect(),
            open,
            available: open && available.iter().any(|u| department.has_member(*u)),
            opens_at: if open {
                None
            } else {
                self.with_hours(department, |h| h.next_opening(at)).flatten().map(|t| rfc3339(t.unix_timestamp()))
            },
        }
    }

    /// Creates or changes the department `key` after checking everything.
    pub async fn save(&self, key: &str, input: DepartmentInput) -> Result<Department, DepartmentError> {
        let key = check_key(key)?;
        let name = check_name("a department name", &input.name)?;
        let name_cy = match input.name_cy.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => Some(check_name("a Welsh department name", n)?),
            None => None,
        };
        if let Some(schedule) = &input.hours {
            schedule.check().map_err(DepartmentError::Invalid)?;
        }
        if input.members.len() > 500 {
            return Err(DepartmentError::Invalid("at most 500 members".into()));
        }
        let mut members = Vec::new();
        for username in &input.members {
            let user = self.store.user_by_name(username).await?;
            let Some(user) = user else {
                return Err(DepartmentError::Invalid(format!("no staff user `{username}`")));
            };
            members.push(user.id);
        }
        let hours = match &input.hours {
            Some(schedule) => {
                Some(serde_json::to_string(schedule).map_err(|e| DepartmentError::Invalid(e.to_string()))?)
            }
            None => None,
        };
        self.store
            .upsert_department(NewDepartment {
                key: key.clone(),
                name,
                name_cy,
                routing: match input.routing {
                    Mode::LeastBusy => "least_busy",
                    Mode::RoundRobin => "round_robin",
                },
                assignment: match input.assignment {
                    Assignment::Auto => "auto",
                    Assignment::Manual => "manual",
                },
                hours,
                closed_on_bank_holidays: input.closed_on_bank_holidays,
                members,
            })
            .await?;
        self.refresh().await?;
        self.get(&key).ok_or(DepartmentError::Unknown(key))
    }

    /// Removes a department (sites stop offering it; chats keep their history).
    pub async fn delete(&self, key: &str) -> Result<(), DepartmentError> {
        if !self.store.delete_department(key.to_owned()).await? {
            return Err(DepartmentError::Unknown(key.to_owned()));
        }
        self.refresh().await
    }

    pub async fn holidays(&self) -> Result<Vec<(String, String)>, DepartmentError> {
        Ok(self.store.bank_holidays().await?)
    }

    /// Adds or renames one holiday.
    pub async fn put_holiday(&self, date: &str, name: &str) -> Result<(String, String), DepartmentError> {
        let day = hours::parse_date(date)
            .ok_or_else(|| DepartmentError::Invalid(format!("`{date}` is not a date; use YYYY-MM-DD")))?;
        let name = check_name("a holiday name", name)?;
        let day = hours::format_date(day);
        self.store.put_bank_holidays(vec![(day.clone(), name.clone())], false).await?;
        self.refresh().await?;
        Ok((day, name))
    }

    pub async fn delete_holiday(&self, date: &str) -> Result<(), DepartmentError> {
        if !self.store.delete_bank_holiday(date.to_owned()).await? {
            return Err(DepartmentError::UnknownHoliday(date.to_owned()));
        }
        self.refresh().await
    }

    /// Adds a year's holidays by the rules of `region`; dates already listed keep their names.
    pub async fn generate_holidays(&self, region: Region, year: i32) -> Result<(), DepartmentError> {
        if !(2000..=2100).contains(&year) {
            return Err(DepartmentError::Invalid("year must be 2000 to 2100".into()));
        }
        let days = hours::bank_holidays(region, year)
            .into_iter()
            .map(|(d, n)| (hours::format_date(d), n.to_owned()))
            .collect();
        self.store.put_bank_holidays(days, true).await?;
        self.refresh().await
    }
}
