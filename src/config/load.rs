//! Layered loading: embedded defaults → (demo defaults) → file → `PARLEY_*` env → flags.
//! Every error names the key and where it came from (file and line, variable or flag).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::{Config, EXAMPLE, removed};

/// Values given as command-line flags; they win over everything else.
#[derive(Debug, Clone, Default)]
pub struct CliOverrides {
    pub data_dir: Option<PathBuf>,
    pub public_addr: Option<String>,
    pub staff_addr: Option<String>,
    pub demo: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}. Check the path and that parley may read it.")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} line {line}: TOML syntax error: {message}")]
    Syntax { path: PathBuf, line: usize, message: String },
    #[error("{origin}: unknown key `{key}`. Known keys here: {known}. Remove it or fix its spelling.")]
    UnknownKey { origin: String, key: String, known: String },
    #[error("{origin}: invalid value for `{key}`: {message}")]
    Invalid { origin: String, key: String, message: String },
}

/// Where each configured key got its value from, for error messages.
struct Origins {
    by_key: BTreeMap<String, String>,
}

/// Checks that involve two keys: an error reported on the first, when only the second was set
/// by the administrator, names where the second was set.
const RELATED: &[(&str, &str)] = &[
    ("server.staff_addr", "server.public_addr"),
    ("tls.key_file", "tls.cert_file"),
    ("backup.recipients", "backup.schedule"),
    ("auth.argon2_memory_kib", "auth.argon2_parallelism"),
    ("smtp.from", "smtp.host"),
    ("smtp.password_file", "smtp.password"),
];

impl Origins {
    fn describe(&self, key: &str) -> String {
        if let Some(found) = self.by_key.get(key) {
            return found.clone();
        }
        let related = RELATED.iter().filter(|(k, _)| *k == key).map(|(_, other)| *other);
        for other in related {
            if let Some(found) = self.by_key.get(other) {
                return format!("{found} (where `{other}` is set)");
            }
        }
        "the embedded defaults".into()
    }
}

/// What a valid value looks like, for keys whose parser says only "invalid".
fn hint(key: &str, message: String) -> String {
    if key.ends_with("_addr") {
        format!("{message}; write IP:PORT, for example 0.0.0.0:443, 192.0.2.10:8443 or [2001:db8::10]:8443")
    } else if key.ends_with("port") {
        format!("{message}; a port is a whole number from 1 to 65535, for example 587")
    } else {
        message
    }
}

/// "path line N" for a key set in the configuration file.
fn file_origin(file: Option<(&Path, &str)>, key: &str) -> String {
    match file {
        Some((path, text)) => match locate(text, key) {
            Some(line) => format!("{} line {line}", path.display()),
            None => path.display().to_string(),
        },
        None => "the embedded defaults".into(),
    }
}

/// Reads the file at `path` (if any) and the process environment, then loads.
pub fn load(path: Option<&Path>, cli: &CliOverrides) -> Result<Config, ConfigError> {
    let env: Vec<(String, String)> = std::env::vars().filter(|(k, _)| k.starts_with("PARLEY_")).collect();
    match path {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
            load_from_text(Some((path, &text)), &env, cli)
        }
        None => load_from_text(None, &env, cli),
    }
}

/// Loads from an optional file's text, the given `PARLEY_*` variables and flags.
pub fn load_from_text(
    file: Option<(&Path, &str)>,
    env: &[(String, String)],
    cli: &CliOverrides,
) -> Result<Config, ConfigError> {
    let base: Table = EXAMPLE.parse().map_err(|e: toml::de::Error| ConfigError::Syntax {
        path: "embedded config.example.toml".into(),
        line: line_of(EXAMPLE, e.span().map(|s| s.start).unwrap_or(0)),
        message: e.message().to_owned(),
    })?;
    let mut merged = base.clone();
    let mut origins = Origins { by_key: BTreeMap::new() };
    let mut warnings = Vec::new();
    if cli.demo {
        apply_demo(&mut merged, &mut origins.by_key);
    }
    if let Some((path, text)) = file {
        let table: Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Syntax {
            path: path.to_owned(),
            line: line_of(text, e.span().map(|s| s.start).unwrap_or(0)),
            message: e.message().trim().to_owned(),
        })?;
        let origin_of = &mut |key: &str| file_origin(file, key);
        overlay(&base, &mut merged, &table, "", origin_of, &mut origins.by_key, &mut warnings)?;
    }
    for (var, raw) in env {
        let Some(rest) = var.strip_prefix("PARLEY_") else { continue };
        if !rest.contains("__") {
            continue; // PARLEY_CONFIG and friends are not config keys.
        }
        let key = rest.to_ascii_lowercase().replace("__", ".");
        let origin = format!("environment variable {var}");
        let Some(expected) = lookup(&base, &key) else {
            if let Some(row) = removed::find(&key) {
                warnings.push(removed::warning(row, &origin));
                continue;
            }
            let known = known_keys(&base, &key);
            return Err(ConfigError::UnknownKey { origin, key, known });
        };
        let value = env_value(expected, raw).map_err(|message| ConfigError::Invalid {
            origin: origin.clone(),
            key: key.clone(),
            message,
        })?;
        set(&mut merged, &key, value);
        origins.by_key.insert(key, origin);
    }
    let flags = [
        ("server.data_dir", cli.data_dir.as_ref().map(|p| p.display().to_string()), "--data-dir"),
        ("server.public_addr", cli.public_addr.clone(), "--public-addr"),
        ("server.staff_addr", cli.staff_addr.clone(), "--staff-addr"),
    ];
    for (key, value, flag) in flags {
        if let Some(value) = value {
            set(&mut merged, key, Value::String(value));
            origins.by_key.insert(key.into(), format!("command-line flag {flag}"));
        }
    }
    let mut config = deserialize(&base, &merged, &origins)?;
    config.demo = cli.demo;
    config.warnings = warnings;
    config.check().map_err(|(key, message)| ConfigError::Invalid {
        origin: origins.describe(key),
        key: key.into(),
        message,
    })?;
    config.read_secret_files().map_err(|(key, message)| ConfigError::Invalid {
        origin: origins.describe(key),
        key: key.into(),
        message,
    })?;
    Ok(config)
}

/// Defaults for `serve --demo`: a local data directory and loopback listeners.
fn apply_demo(table: &mut Table, recorded: &mut BTreeMap<String, String>) {
    set(table, "server.data_dir", Value::String("./parley-demo-data".into()));
    set(table, "server.public_addr", Value::String("127.0.0.1:8443".into()));
    set(table, "server.staff_addr", Value::String("127.0.0.1:9443".into()));
    set(table, "server.organisation", Value::String("Parley demo".into()));
    let origins = ["https://127.0.0.1:8443", "https://localhost:8443"];
    set(table, "widget.site_origins", Value::Array(origins.iter().map(|o| Value::String((*o).into())).collect()));
    for key in
        ["server.data_dir", "server.public_addr", "server.staff_addr", "server.organisation", "widget.site_origins"]
    {
        recorded.insert(key.into(), "the demo settings (--demo)".into());
    }
}

/// Turns the merged table into `Config`; on failure, finds the first key whose value breaks it.
fn deserialize(base: &Table, merged: &Table, origins: &Origins) -> Result<Config, ConfigError> {
    let err = match Value::Table(merged.clone()).try_into::<Config>() {
        Ok(config) => return Ok(config),
        Err(err) => err,
    };
    for key in leaf_keys(merged, "") {
        let mut probe = base.clone();
        if let Some(value) = lookup(merged, &key) {
            set(&mut probe, &key, value.clone());
        }
        if let Err(e) = Value::Table(probe).try_into::<Config>() {
            return Err(ConfigError::Invalid {
                origin: origins.describe(&key),
                message: hint(&key, e.message().trim().to_owned()),
                key,
            });
        }
    }
    Err(ConfigError::Invalid { origin: "configuration".into(), key: "?".into(), message: err.message().into() })
}

/// Copies `layer` over `merged`, checking every key and value kind against `base`.
fn overlay(
    base: &Table,
    merged: &mut Table,
    layer: &Table,
    prefix: &str,
    origin_of: &mut dyn FnMut(&str) -> String,
    recorded: &mut BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    for (name, value) in layer {
        let key = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        let Some(expected) = base.get(name) else {
            if let Some(row) = removed::find(&key) {
                warnings.push(removed::warning(row, &origin_of(&key)));
                continue;
            }
            return Err(ConfigError::UnknownKey {
                origin: origin_of(&key),
                key: key.clone(),
                known: base.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        };
        match (expected, value) {
            (Value::Table(base_sub), Value::Table(layer_sub)) => {
                let Some(Value::Table(merged_sub)) = merged.get_mut(name) else { continue };
                overlay(base_sub, merged_sub, layer_sub, &key, origin_of, recorded, warnings)?;
            }
            (e, v) if e.type_str() != v.type_str() => {
                return Err(ConfigError::Invalid {
                    origin: origin_of(&key),
                    message: hint(&key, format!("expected {}, found {}", kind(e), kind(v))),
                    key,
                });
            }
            _ => {
                merged.insert(name.clone(), value.clone());
                recorded.insert(key.clone(), origin_of(&key));
            }
        }
    }
    Ok(())
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Boolean(_) => "true or false",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "a list",
        Value::Table(_) => "a table",
    }
}

/// Parses an environment variable's text according to the kind of the default value.
fn env_value(expected: &Value, raw: &str) -> Result<Value, String> {
    match expected {
        Value::String(_) => Ok(Value::String(raw.to_owned())),
        Value::Integer(_) => raw.trim().parse().map(Value::Integer).map_err(|_| format!("`{raw}` is not an integer")),
        Value::Boolean(_) => match raw.trim() {
            "true" | "1" | "yes" => Ok(Value::Boolean(true)),
            "false" | "0" | "no" => Ok(Value::Boolean(false)),
            _ => Err(format!("`{raw}` is not true or false")),
        },
        Value::Array(_) => {
            let doc: Table = format!("v = {raw}")
                .parse()
                .map_err(|_| format!("`{raw}` is not a TOML list; write it like [\"a\", \"b\"]"))?;
            match doc.get("v") {
                Some(v @ Value::Array(_)) => Ok(v.clone()),
                _ => Err(format!("`{raw}` is not a list")),
            }
        }
        other => Err(format!("{} values cannot be set from the environment", kind(other))),
    }
}

fn lookup<'t>(table: &'t Table, key: &str) -> Option<&'t Value> {
    let mut parts = key.split('.');
    let mut current = table.get(parts.next()?)?;
    for part in parts {
        current = current.as_table()?.get(part)?;
    }
    Some(current)
}

fn set(table: &mut Table, key: &str, value: Value) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut current = table;
    for part in parts {
        let entry = current.entry(part.to_owned()).or_insert_with(|| Value::Table(Table::new()));
        let Value::Table(next) = entry else { return };
        current = next;
    }
    current.insert(last.to_owned(), value);
}

fn leaf_keys(table: &Table, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (name, value) in table {
        let key = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        match value {
            Value::Table(sub) => out.extend(leaf_keys(sub, &key)),
            _ => out.push(key),
        }
    }
    out
}

fn known_keys(base: &Table, key: &str) -> String {
    let section = key.split('.').next().unwrap_or_default();
    match base.get(section) {
        Some(Value::Table(sub)) => sub.keys().map(|k| format!("{section}.{k}")).collect::<Vec<_>>().join(", "),
        _ => base.keys().cloned().collect::<Vec<_>>().join(", "),
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line on which a dotted key (`section.key`) is set in a simple TOML file.
fn locate(text: &str, key: &str) -> Option<usize> {
    let (section, name) = match key.rsplit_once('.') {
        Some((s, n)) => (s, n),
        None => ("", key),
    };
    let mut current = String::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(header) = trimmed.strip_prefix('[').and_then(|h| h.split(']').next()) {
            current = header.trim().to_owned();
            if current == key {
                return Some(index + 1);
            }
            continue;
        }
        let Some(rest) = trimmed.strip_prefix(name) else { continue };
        if current == section && rest.trim_start().starts_with('=') {
            return Some(index + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_file(text: &str) -> Result<Config, ConfigError> {
        load_from_text(Some((Path::new("/etc/parley/config.toml"), text)), &[], &CliOverrides::default())
    }

    #[test]
    fn embedded_defaults_load() {
        let config = Config::embedded().expect("defaults load");
        assert_eq!(config.server.staff_addr.to_string(), "127.0.0.1:8443", "staff listener on loopback until chosen");
        assert_eq!(config.auth.argon2_iterations, 2);
    }

    #[test]
    fn file_overrides_defaults() {
        let config = from_file("[server]\nstaff_addr = \"127.0.0.1:9000\"\n").expect("loads");
        assert_eq!(config.server.staff_addr.to_string(), "127.0.0.1:9000");
        assert_eq!(config.server.public_addr.port(), 443, "untouched keys keep their default");
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let err = from_file("[server]\n\n# c\nstaf_addr = \"127.0.0.1:1\"\n").expect_err("unknown key");
        let text = err.to_string();
        assert!(text.contains("server.staf_addr"), "{text}");
        assert!(text.contains("line 4"), "{text}");
    }

    #[test]
    fn unknown_section_is_an_error() {
        let err = from_file("[srever]\nx = 1\n").expect_err("unknown section");
        assert!(err.to_string().contains("`srever`"), "{err}");
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn wrong_kind_names_key_and_line() {
        let err = from_file("[auth]\nsession_idle_minutes = \"ten\"\n").expect_err("kind");
        let text = err.to_string();
        assert!(text.contains("auth.session_idle_minutes") && text.contains("line 2"), "{text}");
        assert!(text.contains("expected an integer"), "{text}");
    }

    #[test]
    fn invalid_value_names_key_and_line() {
        let err = from_file("[log]\nlevel = \"info\"\n[server]\npublic_addr = \"not an address\"\n").expect_err("addr");
        let text = err.to_string();
        assert!(text.contains("server.public_addr") && text.contains("line 4"), "{text}");
    }

    #[test]
    fn semantic_check_names_key() {
        let err = from_file("[auth]\nargon2_iterations = 0\n").expect_err("zero");
        let text = err.to_string();
        assert!(text.contains("auth.argon2_iterations") && text.contains("line 2"), "{text}");
    }

    #[test]
    fn removed_key_loads_with_a_warning() {
        let config = from_file("[server]\nlegacy_listener = \"0.0.0.0:1\"\n").expect("loads");
        let warning = config.warnings.join("\n");
        assert!(warning.contains("server.legacy_listener") && warning.contains("line 2"), "{warning}");
        assert!(warning.contains("server.public_addr"), "says what to use instead: {warning}");
        let env = vec![("PARLEY_SERVER__LEGACY_LISTENER".to_owned(), "x".to_owned())];
        let config = load_from_text(None, &env, &CliOverrides::default()).expect("loads");
        assert!(config.warnings.join("").contains("PARLEY_SERVER__LEGACY_LISTENER"), "{:?}", config.warnings);
        assert!(from_file("[server]\nlegacy_listener2 = 1\n").is_err(), "other unknown keys stay errors");
    }

    #[test]
    fn an_error_from_two_keys_names_the_one_that_was_set() {
        let err = from_file("[server]\n\npublic_addr = \"127.0.0.1:8443\"\n").expect_err("same address");
        let text = err.to_string();
        assert!(text.contains("line 3") && text.contains("server.public_addr"), "{text}");
        assert!(!text.contains("embedded defaults"), "{text}");
        let err = from_file("[tls]\ncert_file = \"/etc/ssl/chat.pem\"\n").expect_err("no key");
        let text = err.to_string();
        assert!(text.contains("line 2") && text.contains("tls.cert_file"), "{text}");
        assert!(!text.contains("embedded defaults"), "{text}");
    }

    #[test]
    fn address_and_port_errors_show_a_valid_value() {
        for file in ["[server]\nstaff_addr = \"10.0.0.1\"\n", "[server]\nstaff_addr = 8443\n"] {
            let text = from_file(file).expect_err(file).to_string();
            assert!(
                text.contains("server.staff_addr") && text.contains("IP:PORT") && text.contains("0.0.0.0:443"),
                "{text}"
            );
        }
        let text = from_file("[smtp]\nport = 70000\n").expect_err("port").to_string();
        assert!(text.contains("smtp.port") && text.contains("1 to 65535"), "{text}");
        let cli = CliOverrides { staff_addr: Some("localhost".into()), ..Default::default() };
        let text = load_from_text(None, &[], &cli).expect_err("flag").to_string();
        assert!(text.contains("--staff-addr") && text.contains("IP:PORT"), "{text}");
    }

    #[test]
    fn misspelt_log_level_is_refused() {
        let text = from_file("[log]\nlevel = \"warning\"\n").expect_err("warning").to_string();
        assert!(text.contains("log.level") && text.contains("line 2") && text.contains("warn"), "{text}");
    }

    #[test]
    fn syntax_error_has_line() {
        let err = from_file("[server]\ndata_dir = \n").expect_err("syntax");
        assert!(matches!(err, ConfigError::Syntax { line: 2, .. }), "{err}");
    }

    #[test]
    fn env_beats_file_and_flags_beat_env() {
        let env = vec![
            ("PARLEY_SERVER__STAFF_ADDR".to_owned(), "127.0.0.1:7001".to_owned()),
            ("PARLEY_SERVER__PUBLIC_ADDR".to_owned(), "127.0.0.1:7002".to_owned()),
            ("PARLEY_AUTH__ARGON2_ITERATIONS".to_owned(), "3".to_owned()),
        ];
        let cli = CliOverrides { public_addr: Some("127.0.0.1:7003".into()), ..Default::default() };
        let file = "[server]\nstaff_addr = \"127.0.0.1:7000\"\n";
        let config = load_from_text(Some((Path::new("c.toml"), file)), &env, &cli).expect("loads");
        assert_eq!(config.server.staff_addr.port(), 7001);
        assert_eq!(config.server.public_addr.port(), 7003);
        assert_eq!(config.auth.argon2_iterations, 3);
    }

    #[test]
    fn bad_env_names_variable() {
        let env = vec![("PARLEY_AUTH__NOPE".to_owned(), "1".to_owned())];
        let err = load_from_text(None, &env, &CliOverrides::default()).expect_err("unknown");
        assert!(err.to_string().contains("PARLEY_AUTH__NOPE"), "{err}");
        let env = vec![("PARLEY_AUTH__ARGON2_ITERATIONS".to_owned(), "many".to_owned())];
        let err = load_from_text(None, &env, &CliOverrides::default()).expect_err("bad int");
        assert!(err.to_string().contains("PARLEY_AUTH__ARGON2_ITERATIONS"), "{err}");
    }

    #[test]
    fn secret_file_is_read_and_redacted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("smtp-password");
        std::fs::write(&path, "s3cret-from-file\n").expect("write");
        let file = format!("[smtp]\npassword_file = \"{}\"\n", path.display());
        let config = from_file(&file).expect("loads");
        assert_eq!(config.smtp.password.expose(), "s3cret-from-file");
        assert!(!format!("{config:?}").contains("s3cret-from-file"));
    }

    #[test]
    fn missing_secret_file_is_named() {
        let err = from_file("[smtp]\npassword_file = \"/nonexistent/pw\"\n").expect_err("missing");
        assert!(err.to_string().contains("smtp.password_file"), "{err}");
    }

    const RECIPIENT: &str = "age1g04jwp9efjglclgljn2ed44fftjm2hckp8dvwck3rzwga609t9eqtx7yg9";

    #[test]
    fn backup_recipients_must_be_age_public_keys() {
        let good = format!("[backup]\nrecipients = [\"{RECIPIENT}\"]\nschedule = \"daily 02:30\"\n");
        let config = from_file(&good).expect("loads");
        assert_eq!(config.backup.recipients, vec![RECIPIENT.to_owned()]);
        let err = from_file("[backup]\nrecipients = [\"AGE-SECRET-KEY-1QQQ\"]\n").expect_err("not a public key");
        let text = err.to_string();
        assert!(text.contains("backup.recipients") && text.contains("line 2") && text.contains("age1"), "{text}");
    }

    #[test]
    fn backup_schedule_is_checked() {
        for schedule in ["", "daily 00:00", "daily 23:59", "every 1 hours", "every 168 hours"] {
            let file = format!("[backup]\nrecipients = [\"{RECIPIENT}\"]\nschedule = \"{schedule}\"\n");
            from_file(&file).unwrap_or_else(|e| panic!("{schedule}: {e}"));
        }
        for schedule in ["daily 25:00", "every 169 hours", "every 0 hours", "hourly"] {
            let file = format!("[backup]\nrecipients = [\"{RECIPIENT}\"]\nschedule = \"{schedule}\"\n");
            let text = from_file(&file).expect_err(schedule).to_string();
            assert!(text.contains("backup.schedule") && text.contains("line 3"), "{text}");
        }
        let err = from_file("[backup]\nschedule = \"every 6 hours\"\n").expect_err("no recipients");
        assert!(err.to_string().contains("backup.recipients"), "{err}");
    }

    #[test]
    fn demo_defaults_apply_below_flags() {
        let cli = CliOverrides { demo: true, staff_addr: Some("127.0.0.1:9999".into()), ..Default::default() };
        let config = load_from_text(None, &[], &cli).expect("loads");
        assert_eq!(config.server.public_addr.port(), 8443);
        assert_eq!(config.server.staff_addr.port(), 9999);
        assert!(config.demo);
    }
}
