//! The `[ldap]` section: staff sign-in against Active Directory or another LDAP directory
//! (docs/security.md, "Active Directory / LDAP"). An empty `url` switches it off.

use std::path::PathBuf;

use serde::Deserialize;

use super::Secret;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapConfig {
    /// `ldaps://dc1.example.local` or `ldap://…` with `starttls = true`; empty: off.
    pub url: String,
    pub starttls: bool,
    /// PEM file with the CA that signed the directory's certificate; empty: the system store.
    pub ca_file: PathBuf,
    /// The service account that searches for users.
    pub bind_dn: String,
    pub bind_password_file: PathBuf,
    /// Read from `bind_password_file` at load; never from the file itself.
    #[serde(skip)]
    pub bind_password: Secret,
    pub user_base: String,
    /// `{username}` is replaced by the escaped sign-in name.
    pub user_filter: String,
    /// The attribute whose value becomes the parley user name.
    pub username_attr: String,
    pub display_name_attr: String,
    pub email_attr: String,
    /// Seconds for connecting and for each operation.
    pub timeout_seconds: u64,
    /// Group DN → role, in order: the first listed group the user belongs to decides.
    pub group_roles: Vec<GroupRole>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupRole {
    pub group: String,
    pub role: String,
}

impl LdapConfig {
    pub fn enabled(&self) -> bool {
        !self.url.trim().is_empty()
    }

    /// Checks that go beyond types; (dotted key, problem) for the first failure.
    pub(super) fn check(&self) -> Result<(), (&'static str, String)> {
        if !self.enabled() {
            return Ok(());
        }
        let url = self.url.trim().to_ascii_lowercase();
        if url.starts_with("ldap://") {
            if !self.starttls {
                let problem = "an ldap:// address sends passwords in clear: use ldaps://, or set ldap.starttls = true";
                return Err(("ldap.url", problem.into()));
            }
        } else if url.starts_with("ldaps://") {
            if self.starttls {
                return Err(("ldap.starttls", "must be false with an ldaps:// address (it is TLS already)".into()));
            }
        } else {
            return Err(("ldap.url", format!("`{}` must start with ldaps:// or ldap://", self.url)));
        }
        let required = [
            ("ldap.bind_dn", self.bind_dn.as_str()),
            ("ldap.user_base", self.user_base.as_str()),
            ("ldap.username_attr", self.username_attr.as_str()),
            ("ldap.display_name_attr", self.display_name_attr.as_str()),
        ];
        for (key, value) in required {
            if value.trim().is_empty() {
                return Err((key, "must be set when ldap.url is set".into()));
            }
        }
        if self.bind_password_file.as_os_str().is_empty() {
            return Err((
                "ldap.bind_password_file",
                "must name the file holding the service account's password".into(),
            ));
        }
        if !self.user_filter.contains("{username}") {
            return Err(("ldap.user_filter", "must contain {username} where the sign-in name goes".into()));
        }
        if !(self.user_filter.starts_with('(') && self.user_filter.ends_with(')')) {
            return Err((
                "ldap.user_filter",
                "must be an LDAP filter in parentheses, like (sAMAccountName={username})".into(),
            ));
        }
        if !(1..=60).contains(&self.timeout_seconds) {
            return Err(("ldap.timeout_seconds", "must be between 1 and 60".into()));
        }
        if self.group_roles.is_empty() {
            let problem =
                "list at least one { group = \"CN=…\", role = \"operator\" }: users in no listed group cannot sign in";
            return Err(("ldap.group_roles", problem.into()));
        }
        for mapping in &self.group_roles {
            if !mapping.group.contains('=') {
                return Err((
                    "ldap.group_roles",
                    format!(
                        "`{}` is not a group DN like CN=Parley Operators,OU=Groups,DC=example,DC=local",
                        mapping.group
                    ),
                ));
            }
            // Built-in or custom: whether the role exists is checked at sign-in (custom roles
            // live in the database, not in this file).
            if mapping.role.trim().is_empty() {
                return Err(("ldap.group_roles", format!("the entry for `{}` has no role", mapping.group)));
            }
        }
        Ok(())
    }

    /// Reads the service account's password from `bind_password_file`.
    pub(super) fn read_password(&mut self) -> Result<(), (&'static str, String)> {
        if !self.enabled() {
            return Ok(());
        }
        let path = &self.bind_password_file;
        let text = std::fs::read_to_string(path)
            .map_err(|e| ("ldap.bind_password_file", format!("cannot read {}: {e}", path.display())))?;
        let password = text.trim_end_matches(['\r', '\n']);
        if password.is_empty() {
            return Err(("ldap.bind_password_file", format!("{} is empty", path.display())));
        }
        self.bind_password = Secret::new(password.to_owned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{CliOverrides, load_from_text};

    fn load(ldap: &str, env: &[(String, String)]) -> Result<super::super::Config, String> {
        let text = format!("[ldap]\n{ldap}");
        load_from_text(Some((Path::new("/etc/parley/config.toml"), &text)), env, &CliOverrides::default())
            .map_err(|e| e.to_string())
    }

    fn complete(password_file: &Path, url: &str, extra: &str) -> String {
        format!(
            "url = \"{url}\"\nbind_dn = \"CN=svc-parley,OU=Service,DC=example,DC=local\"\n\
             bind_password_file = \"{}\"\nuser_base = \"OU=Staff,DC=example,DC=local\"\n\
             group_roles = [{{ group = \"CN=Parley Operators,OU=Groups,DC=example,DC=local\", role = \"operator\" }}]\n{extra}",
            password_file.display()
        )
    }

    #[test]
    fn off_by_default_and_complete_settings_load() {
        assert!(!load("", &[]).expect("defaults").ldap.enabled());
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("bind");
        std::fs::write(&file, "s3rvice-pass\n").expect("write");
        let config = load(&complete(&file, "ldaps://dc1.example.local", ""), &[]).expect("loads");
        assert_eq!(config.ldap.bind_password.expose(), "s3rvice-pass");
        assert!(!format!("{config:?}").contains("s3rvice-pass"));
        assert_eq!(config.ldap.group_roles[0].role, "operator");
        assert!(config.ldap.user_filter.contains("sAMAccountName={username}"));
    }

    #[test]
    fn unsafe_or_incomplete_settings_name_the_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("bind");
        std::fs::write(&file, "pw").expect("write");
        let cases = [
            (complete(&file, "ldap://dc1.example.local", ""), "ldap.url"),
            (complete(&file, "ldaps://dc1.example.local", "starttls = true\n"), "ldap.starttls"),
            (complete(&file, "http://dc1", ""), "ldap.url"),
            (complete(&file, "ldaps://dc1", "user_filter = \"(uid=jo)\"\n"), "ldap.user_filter"),
            (complete(&file, "ldaps://dc1", "timeout_seconds = 0\n"), "ldap.timeout_seconds"),
            (complete(Path::new("/nonexistent/bind"), "ldaps://dc1", ""), "ldap.bind_password_file"),
            ("url = \"ldaps://dc1\"\n".to_owned(), "ldap.bind_dn"),
        ];
        for (text, key) in cases {
            let err = load(&text, &[]).expect_err(key);
            assert!(err.contains(key), "{key}: {err}");
        }
        let starttls = complete(&file, "ldap://dc1.example.local", "starttls = true\n");
        load(&starttls, &[]).expect("ldap:// with StartTLS loads");
        let no_groups = complete(&file, "ldaps://dc1", "").replace("group_roles", "# group_roles");
        assert!(load(&no_groups, &[]).expect_err("no groups").contains("ldap.group_roles"));
    }

    #[test]
    fn group_roles_can_come_from_the_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("bind");
        std::fs::write(&file, "pw").expect("write");
        let env = vec![(
            "PARLEY_LDAP__GROUP_ROLES".to_owned(),
            "[{ group = \"CN=Admins,DC=example,DC=local\", role = \"administrator\" }]".to_owned(),
        )];
        let config = load(&complete(&file, "ldaps://dc1", ""), &env).expect("loads");
        assert_eq!(config.ldap.group_roles.len(), 1);
        assert_eq!(config.ldap.group_roles[0].role, "administrator");
    }
}
