//! Sites that embed the widget, kept in memory for the per-request checks (frame-ancestors,
//! the loader's origin check, `start`) and written through to the database.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::domain::Origin;
use crate::service::consent::LawfulBasis;
use crate::service::departments::Departments;
use crate::service::prechat::{Field, check_fields};
use crate::store::{SiteRow, Store, StoreError};

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
    /// Keys of the departments the widget offers, in order.
    pub departments: Vec<String>,
    pub theme: Theme,
    pub tracking: Tracking,
    /// The basis chats on this site run on, shown in the pre-chat form.
    pub lawful_basis: LawfulBasis,
    /// The administrator chose to require consent before a chat (off by default).
    pub require_consent: bool,
    /// The pre-chat form offers the optional marketing-contact box.
    pub ask_marketing: bool,
}

/// Whether the widget may remember a visitor across visits with the `parley_vid` cookie.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tracking {
    /// Only after the visitor ticks "remember this device" (the default).
    #[default]
    Consent,
    /// Never.
    Off,
    /// Without asking: only where the DPO has decided that no consent is needed.
    Always,
}

impl Tracking {
    pub fn as_str(self) -> &'static str {
        match self {
            Tracking::Consent => "consent",
            Tracking::Off => "off",
            Tracking::Always => "always",
        }
    }

    fn parse(raw: &str) -> Tracking {
        match raw {
            "off" => Tracking::Off,
            "always" => Tracking::Always,
            _ => Tracking::Consent,
        }
    }
}

/// What an administrator sends to create or change a site.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteInput {
    pub name: String,
    pub origins: Vec<String>,
    #[serde(default)]
    pub fields: Vec<Field>,
    #[serde(default)]
    pub departments: Vec<String>,
    #[serde(default)]
    pub theme: Theme,
    #[serde(default)]
    pub tracking: Tracking,
    #[serde(default)]
    pub lawful_basis: LawfulBasis,
    #[serde(default)]
    pub require_consent: bool,
    #[serde(default)]
    pub ask_marketing: bool,
}

/// The widget's colour and texts for one site (English and Welsh); unset ones use the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Theme {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_cy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting_cy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launcher: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launcher_cy: Option<String>,
}

/// WCAG contrast ratio of white text on `#rrggbb`.
pub fn contrast_with_white(hex: &str) -> Option<f64> {
    let digits = hex.strip_prefix('#').filter(|d| d.len() == 6 && d.bytes().all(|b| b.is_ascii_hexdigit()))?;
    let channel = |i: usize| -> Option<f64> {
        let c = f64::from(u8::from_str_radix(digits.get(i..i + 2)?, 16).ok()?) / 255.0;
        Some(if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) })
    };
    let luminance = 0.2126 * channel(0)? + 0.7152 * channel(2)? + 0.0722 * channel(4)?;
    Some(1.05 / (luminance + 0.05))
}

impl Theme {
    /// Trims the texts (empty ones become unset) and checks lengths and the colour's contrast.
    fn checked(self) -> Result<Theme, SiteError> {
        let text = |what: &str, value: Option<String>, max: usize| -> Result<Option<String>, SiteError> {
            let Some(v) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else { return Ok(None) };
            if v.chars().count() > max || v.chars().any(char::is_control) {
                return Err(SiteError::Invalid(format!("the widget {what} has 1 to {max} characters on one line")));
            }
            Ok(Some(v))
        };
        let colour = match self.colour.map(|c| c.trim().to_ascii_lowercase()).filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => {
                let Some(ratio) = contrast_with_white(&c) else {
                    return Err(SiteError::Invalid(format!("colour `{c}` is not of the form #rrggbb")));
                };
                if ratio < 4.5 {
                    return Err(SiteError::Invalid(format!(
                        "colour {c} has a contrast of {ratio:.2}:1 with white text; WCAG AA needs at least 4.5:1 — choose a darker colour"
                    )));
                }
                Some(c)
            }
        };
        Ok(Theme {
            colour,
            title: text("title", self.title, 60)?,
            title_cy: text("title (Welsh)", self.title_cy, 60)?,
            greeting: text("greeting", self.greeting, 300)?,
            greeting_cy: text("greeting (Welsh)", self.greeting_cy, 300)?,
            launcher: text("launcher text", self.launcher, 60)?,
            launcher_cy: text("launcher text (Welsh)", self.launcher_cy, 60)?,
        })
    }
}

#[derive(Clone)]
pub struct Sites {
    store: Store,
    departments: Departments,
    cache: Arc<RwLock<BTreeMap<String, Site>>>,
    /// The appliance's own pages (the demo page) may frame the widget too.
    allow_self: bool,
}

fn to_json<T: Serialize>(value: &T) -> Result<String, SiteError> {
    serde_json::to_string(value).map_err(|e| SiteError::Invalid(e.to_string()))
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
    pub async fn load(store: Store, departments: Departments, config: &Config) -> Result<Sites, SiteError> {
        let sites = Sites { store, departments, cache: Arc::default(), allow_self: config.demo };
        if sites.store.sites().await?.is_empty() {
            let main = SiteInput {
                name: "Main website".into(),
                origins: config.widget.site_origins.clone(),
                ..SiteInput::default()
            };
            sites.save("main", main).await?;
            if config.demo {
                sites.save("demo", SiteInput { name: "Demo page".into(), ..SiteInput::default() }).await?;
            }
        }
        sites.reload().await?;
        Ok(sites)
    }

    /// Reads the sites again (after a department was deleted).
    pub async fn reload(&self) -> Result<(), SiteError> {
        let rows = self.store.sites().await?;
        let map = rows
            .into_iter()
            .map(|r| {
                let origins: Vec<String> = serde_json::from_str(&r.origins).unwrap_or_default();
                let fields: Vec<Field> = serde_json::from_str(&r.fields).unwrap_or_default();
                let departments: Vec<String> = serde_json::from_str(&r.departments).unwrap_or_default();
                let theme: Theme = serde_json::from_str(&r.theme).unwrap_or_default();
                let site = Site {
                    tracking: Tracking::parse(&r.tracking),
                    lawful_basis: LawfulBasis::parse(&r.lawful_basis),
                    require_consent: r.require_consent,
                    ask_marketing: r.ask_marketing,
                    key: r.key.clone(),
                    name: r.name,
                    origins,
                    fields,
                    departments,
                    theme,
                };
                (r.key, site)
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

    /// Creates or updates a site after checking its key, name, origins, fields, departments
    /// and theme.
    pub async fn save(&self, key: &str, input: SiteInput) -> Result<Site, SiteError> {
        check_fields(&input.fields).map_err(SiteError::Invalid)?;
        let key = check_key(key)?;
        let name = input.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(SiteError::Invalid("a site name has 1 to 100 characters".into()));
        }
        if input.origins.len() > 50 {
            return Err(SiteError::Invalid("at most 50 origins per site".into()));
        }
        let mut origins = Vec::new();
        for origin in &input.origins {
            let parsed = Origin::parse(origin).map_err(SiteError::Invalid)?;
            if !origins.contains(&parsed.as_str().to_owned()) {
                origins.push(parsed.as_str().to_owned());
            }
        }
        let mut departments: Vec<String> = Vec::new();
        for department in &input.departments {
            if self.departments.get(department).is_none() {
                return Err(SiteError::Invalid(format!("no department with key `{department}`; add it first")));
            }
            if !departments.contains(department) {
                departments.push(department.clone());
            }
        }
        let theme = input.theme.checked()?;
        self.store
            .upsert_site(SiteRow {
                key: key.clone(),
                name: name.clone(),
                origins: to_json(&origins)?,
                fields: to_json(&input.fields)?,
                departments: to_json(&departments)?,
                theme: to_json(&theme)?,
                tracking: input.tracking.as_str().to_owned(),
                lawful_basis: input.lawful_basis.as_str().to_owned(),
                require_consent: input.require_consent,
                ask_marketing: input.ask_marketing,
                created_at: 0,
            })
            .await?;
        self.reload().await?;
        Ok(Site {
            key,
            name,
            origins,
            fields: input.fields,
            departments,
            theme,
            tracking: input.tracking,
            lawful_basis: input.lawful_basis,
            require_consent: input.require_consent,
            ask_marketing: input.ask_marketing,
        })
    }

    pub async fn delete(&self, key: &str) -> Result<(), SiteError> {
        if !self.store.delete_site(key.to_owned()).await? {
            return Err(SiteError::Unknown(key.to_owned()));
        }
        self.reload().await
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
