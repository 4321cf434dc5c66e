//! Sites: the websites allowed to embed the widget.

use sqlx::FromRow;

use super::{Store, StoreError, conflict_or};
use crate::util::now;

#[derive(Debug, Clone, FromRow)]
pub struct SiteRow {
    pub key: String,
    pub name: String,
    /// JSON array of origins.
    pub origins: String,
    /// JSON array of extra pre-chat fields.
    pub fields: String,
    /// JSON array of department keys offered by the widget.
    pub departments: String,
    /// JSON object of widget colours and texts.
    pub theme: String,
    /// `consent`, `off` or `always` (the parley_vid/parley_sid cookies).
    pub tracking: String,
    /// `public_task` or `legitimate_interests`: the basis chat runs on.
    pub lawful_basis: String,
    /// The site still asks for consent before a chat starts.
    pub require_consent: bool,
    /// The pre-chat form offers the optional marketing-contact box.
    pub ask_marketing: bool,
    pub created_at: i64,
}

impl Store {
    pub async fn sites(&self) -> Result<Vec<SiteRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT key, name, origins, fields, departments, theme, tracking, lawful_basis, require_consent, ask_marketing,
                    created_at FROM sites ORDER BY key",
        )
        .fetch_all(self.reader())
        .await?)
    }

    /// Creates or replaces a site (by key); `created_at` is ignored.
    pub async fn upsert_site(&self, site: SiteRow) -> Result<(), StoreError> {
        let what = format!("site `{}`", site.key);
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO sites (key, name, origins, fields, departments, theme, tracking, lawful_basis,
                         require_consent, ask_marketing, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?8, ?9, ?10, ?11, ?7, ?7)
                     ON CONFLICT(key) DO UPDATE SET name = ?2, origins = ?3, fields = ?4, departments = ?5, theme = ?6,
                         tracking = ?8, lawful_basis = ?9, require_consent = ?10, ask_marketing = ?11, updated_at = ?7",
                )
                .bind(site.key)
                .bind(site.name)
                .bind(site.origins)
                .bind(site.fields)
                .bind(site.departments)
                .bind(site.theme)
                .bind(now())
                .bind(site.tracking)
                .bind(site.lawful_basis)
                .bind(site.require_consent)
                .bind(site.ask_marketing)
                .execute(&mut *conn)
                .await
                .map(|_| ())
            })
        })
        .await
        .map_err(|e| match e {
            StoreError::Sql(err) => conflict_or(err, &what),
            other => other,
        })
    }

    /// Removes a site; false when there was none.
    pub async fn delete_site(&self, key: String) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query("DELETE FROM sites WHERE key = ?1").bind(key).execute(&mut *conn).await?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
    }
}
