//! Departments, their members, and the bank-holiday list.

use sqlx::FromRow;

use super::{Store, StoreError, conflict_or};
use crate::util::now;

#[derive(Debug, Clone, FromRow)]
pub struct DepartmentRow {
    pub id: i64,
    pub key: String,
    pub name: String,
    pub name_cy: Option<String>,
    pub routing: String,
    pub assignment: String,
    /// JSON weekly schedule; None = always open.
    pub hours: Option<String>,
    pub closed_on_bank_holidays: bool,
}

/// A department to create or replace (by key), with its members' user ids.
#[derive(Debug, Clone)]
pub struct NewDepartment {
    pub key: String,
    pub name: String,
    pub name_cy: Option<String>,
    pub routing: &'static str,
    pub assignment: &'static str,
    pub hours: Option<String>,
    pub closed_on_bank_holidays: bool,
    pub members: Vec<i64>,
}

impl Store {
    pub async fn departments(&self) -> Result<Vec<DepartmentRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, key, name, name_cy, routing, assignment, hours, closed_on_bank_holidays
             FROM departments ORDER BY name, key",
        )
        .fetch_all(self.reader())
        .await?)
    }

    /// Every membership: (department id, user id, user name).
    pub async fn department_members(&self) -> Result<Vec<(i64, i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT m.department_id, m.user_id, u.username FROM department_members m
             JOIN staff_users u ON u.id = m.user_id ORDER BY u.username",
        )
        .fetch_all(self.reader())
        .await?)
    }

    /// Creates or replaces a department and its member list in one transaction.
    pub async fn upsert_department(&self, new: NewDepartment) -> Result<i64, StoreError> {
        let what = format!("department `{}`", new.key);
        self.write(move |conn| {
            Box::pin(async move {
                let at = now();
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO departments (key, name, name_cy, routing, assignment, hours, closed_on_bank_holidays,
                                              created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
                     ON CONFLICT(key) DO UPDATE SET name = ?2, name_cy = ?3, routing = ?4, assignment = ?5,
                         hours = ?6, closed_on_bank_holidays = ?7, updated_at = ?8
                     RETURNING id",
                )
                .bind(&new.key)
                .bind(&new.name)
                .bind(&new.name_cy)
                .bind(new.routing)
                .bind(new.assignment)
                .bind(&new.hours)
                .bind(new.closed_on_bank_holidays)
                .bind(at)
                .fetch_one(&mut *conn)
                .await?;
                sqlx::query("DELETE FROM department_members WHERE department_id = ?1")
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                for user in &new.members {
                    sqlx::query("INSERT OR IGNORE INTO department_members (department_id, user_id) VALUES (?1, ?2)")
                        .bind(id)
                        .bind(user)
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(id)
            })
        })
        .await
        .map_err(|e| match e {
            StoreError::Sql(err) => conflict_or(err, &what),
            other => other,
        })
    }

    /// Removes a department and takes it out of every site's list; false when there was none.
    pub async fn delete_department(&self, key: String) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query("DELETE FROM departments WHERE key = ?1").bind(&key).execute(&mut *conn).await?;
                sqlx::query(
                    "UPDATE sites SET departments = (SELECT json_group_array(value) FROM json_each(sites.departments)
                                                     WHERE value != ?1)
                     WHERE EXISTS (SELECT 1 FROM json_each(sites.departments) WHERE value = ?1)",
                )
                .bind(&key)
                .execute(&mut *conn)
                .await?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
    }

    /// Bank holidays as (YYYY-MM-DD, name), by date.
    pub async fn bank_holidays(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT day, name FROM bank_holidays ORDER BY day").fetch_all(self.reader()).await?)
    }

    /// Adds or renames holidays; with `keep_names`, dates already listed keep their names.
    pub async fn put_bank_holidays(&self, days: Vec<(String, String)>, keep_names: bool) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let sql = if keep_names {
                    "INSERT INTO bank_holidays (day, name) VALUES (?1, ?2) ON CONFLICT(day) DO NOTHING"
                } else {
                    "INSERT INTO bank_holidays (day, name) VALUES (?1, ?2) ON CONFLICT(day) DO UPDATE SET name = ?2"
                };
                for (day, name) in days {
                    sqlx::query(sql).bind(day).bind(name).execute(&mut *conn).await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Removes a holiday; false when the date was not listed.
    pub async fn delete_bank_holiday(&self, day: String) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let done =
                    sqlx::query("DELETE FROM bank_holidays WHERE day = ?1").bind(day).execute(&mut *conn).await?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
    }
}
