//! Sites that embed the widget, kept in memory for the per-request checks (frame-ancestors,
//! the loader's origin check, `start`) and written through to the database.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde::Serialize;

use crate::config::Config;
use crate::domain::Origin;
use crate::service::prechat::{Field, check_fields};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("{0}")]
    Invalid(String),
    #[error("no site with key `{0}`")]
    Unknown(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Site {
    pub key: String,
    pub name: String,
    pub origins: Vec<String>,
    /// Extra pre-chat fields, after name and before the question.
    pub fields: Vec<Field>,
}

#[derive(Clone)]
pub struct Sites {
    store: Store,
    cache: Arc<RwLock<BTreeMap<String, Site>>>,
    /// The appliance's own pages (the demo page) may frame the widget too.
    allow_self: bool,
}

/// A site key: 1–64 letters, digits, `-` or `_`.
pub fn check_key(raw: &str) -> Result<String, SiteError> {
    let ok =
        !raw.is_empty() && raw.len() <= 64 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(SiteError::Invalid("a site key has 1 to 64 letters, digits, - or _".into()))
    }
}

impl Sites {
    /// Loads the sites; on first start creates `main` from `widget.site_origins` (and `demo`
    /// in demo mode).
    pub async fn load(store: Store, config: &Config) -> Result<Sites, SiteError> {
        let sites = Sites { store, cache: Arc::default(), allow_self: config.demo };
        if sites.store.sites().await?.is_empty() {
            sites.save("main", "Main website", &config.widget.site_origins, &[]).await?;
            if config.demo {
                sites.save("demo", "Demo page", &[], &[]).await?;
            }
        }
        sites.refresh().await?;
        Ok(sites)
    }

    async fn refresh(&self) -> Result<(), SiteError> {
        let rows = self.store.sites().await?;
        let map = rows
            .into_iter()
            .map(|r| {
                let origins: Vec<String> = serde_json::from_str(&r.origins).unwrap_or_default();
                let fields: Vec<Field> = serde_json::from_str(&r.fields).unwrap_or_default();
                (r.key.clone(), Site { key: r.key, name: r.name, origins, fields })
            })
            .collect();
        if let Ok(mut cache) = self.cache.write() {
            *cache = map;
        }
        Ok(())
    }

    pub fn list(&self) -> Vec<Site> {
        self.cache.read().map(|c| c.values().cloned().collect()).unwrap_or_default()
    }

    pub fn get(&self, key: &str) -> Option<Site> {
        self.cache.read().ok().and_then(|c| c.get(key).cloned())
    }

    /// Creates or updates a site after checking its key, name and origins.
    pub async fn save(&self, key: &str, name: &str, origins: &[String], fields: &[Field]) -> Result<Site, SiteError> {
        check_fields(fields).map_err(SiteError::Invalid)?;
        let key = check_key(key)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(SiteError::Invalid("a site name has 1 to 100 characters".into()));
        }
        if origins.len() > 50 {
            return Err(SiteError::Invalid("at most 50 origins per site".into()));
        }
        let mut clean = Vec::new();
        for origin in origins {
            let parsed = Origin::parse(origin).map_err(SiteError::Invalid)?;
            if !clean.contains(&parsed.as_str().to_owned()) {
                clean.push(parsed.as_str().to_owned());
            }
        }
        let json = serde_json::to_string(&clean).map_err(|e| SiteError::Invalid(e.to_string()))?;
        let fields_json = serde_json::to_string(fields).map_err(|e| SiteError::Invalid(e.to_string()))?;
        self.store.upsert_site(key.clone(), name.to_owned(), json, fields_json).await?;
        self.refresh().await?;
        Ok(Site { key, name: name.to_owned(), origins: clean, fields: fields.to_vec() })
    }

    pub async fn delete(&self, key: &str) -> Result<(), SiteError> {
        if !self.store.delete_site(key.to_owned()).await? {
            return Err(SiteError::Unknown(key.to_owned()));
        }
        self.refresh().await
    }

    /// The `frame-ancestors` source list for the widget of `key`.
    pub fn frame_ancestors(&self, key: Option<&str>) -> String {
        let mut sources: Vec<String> = Vec::new();
        if self.allow_self {
            sources.push("'self'".into());
        }
        if let Some(site) = key.and_then(|k| self.get(k)) {
            sources.extend(site.origins);
        }
        if sources.is_empty() { "'none'".into() } else { sources.join(" ") }
    }
}
