//! Staff sign-in against Active Directory / LDAP, tested with a real OpenLDAP `slapd` (Debian
//! packages `slapd` and `ldap-utils`, installed by scripts/test) that the test starts itself on
//! loopback ports with a generated CA, LDAPS and StartTLS, an AD-like schema (tests/it/ldap/)
//! and `memberOf` kept by the memberof overlay. Each test starts its own slapd (~0.3 s).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ldap3::{LdapConnAsync, LdapConnSettings, Mod};
use parley::config::{Config, GroupRole, Secret};
use reqwest::StatusCode;
use serde_json::json;

use crate::cli::{parley, text};
use crate::harness::{TestApp, error_code, rustls_client_config};

const BASE: &str = "dc=example,dc=local";
const ADMIN_DN: &str = "cn=admin,dc=example,dc=local";
const ADMIN_PASSWORD: &str = "admin-secret-for-tests";
const SERVICE_DN: &str = "cn=svc-parley,ou=Service,dc=example,dc=local";
const SERVICE_PASSWORD: &str = "service-account-password";
const JO: &str = "cn=Jo Smith,ou=Staff,dc=example,dc=local";
const JO_PASSWORD: &str = "correct horse battery";
const ANN: &str = "cn=Ann Admin,ou=Staff,dc=example,dc=local";
const DAN: &str = "cn=Dan Disabled,ou=Staff,dc=example,dc=local";

fn group(cn: &str) -> String {
    format!("cn={cn},ou=Groups,{BASE}")
}

/// A running slapd in a temporary directory; killed on drop.
pub struct Slapd {
    child: Child,
    dir: tempfile::TempDir,
    pub ldaps_port: u16,
    pub ldap_port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

impl Slapd {
    pub async fn start() -> Slapd {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path();
        write_certificates(path);
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/ldap");
        std::fs::copy(fixtures.join("ad.schema"), path.join("ad.schema")).expect("schema");
        let conf = std::fs::read_to_string(fixtures.join("slapd.conf")).expect("slapd.conf");
        std::fs::write(path.join("slapd.conf"), conf.replace("@DIR@", &path.display().to_string())).expect("write");
        std::fs::create_dir(path.join("db")).expect("db dir");
        let loaded = Command::new("/usr/sbin/slapadd")
            .arg("-f")
            .arg(path.join("slapd.conf"))
            .arg("-l")
            .arg(fixtures.join("directory.ldif"))
            .output()
            .expect("slapadd is installed by scripts/test (Debian package slapd)");
        assert!(loaded.status.success(), "slapadd: {}", String::from_utf8_lossy(&loaded.stderr));
        let (ldaps_port, ldap_port) = (free_port(), free_port());
        let log = std::fs::File::create(path.join("slapd.log")).expect("log");
        let mut child = Command::new("/usr/sbin/slapd")
            .args(["-d", "0", "-h", &format!("ldaps://127.0.0.1:{ldaps_port}/ ldap://127.0.0.1:{ldap_port}/"), "-f"])
            .arg(path.join("slapd.conf"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start slapd");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", ldaps_port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(path.join("slapd.log")).unwrap_or_default();
                panic!("slapd exited ({status}): {log}");
            }
            assert!(Instant::now() < deadline, "slapd did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        let slapd = Slapd { child, dir, ldaps_port, ldap_port };
        // Groups are added over LDAP so the memberof overlay writes the users' memberOf.
        slapd.add_group("Parley Admins", &[ANN]).await;
        slapd.add_group("Parley Supervisors", &[]).await;
        slapd.add_group("Parley Operators", &[JO, ANN, DAN]).await;
        slapd
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.ldaps_port)
    }

    async fn admin(&self) -> ldap3::Ldap {
        let tls = Arc::new(rustls_client_config(&self.ca_file()));
        let settings = LdapConnSettings::new().set_config(tls);
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &self.ldaps_url()).await.expect("connect");
        ldap3::drive!(conn);
        ldap.simple_bind(ADMIN_DN, ADMIN_PASSWORD).await.expect("bind").success().expect("admin bind");
        ldap
    }

    async fn add_group(&self, cn: &str, members: &[&str]) {
        let mut ldap = self.admin().await;
        // groupOfNames needs a member; the admin entry stands in for "nobody".
        let mut members: Vec<&str> = members.to_vec();
        members.push(ADMIN_DN);
        let attrs = vec![
            ("objectClass", ["groupOfNames"].into_iter().collect()),
            ("cn", [cn].into_iter().collect()),
            ("member", members.into_iter().collect()),
        ];
        ldap.add(&group(cn), attrs).await.expect("add").success().expect("group added");
    }

    /// Adds or removes one member of a group (the overlay updates the user's memberOf).
    pub async fn change_member(&self, cn: &str, member: &str, add: bool) {
        let mut ldap = self.admin().await;
        let values = [member].into_iter().collect();
        let change = if add { Mod::Add("member", values) } else { Mod::Delete("member", values) };
        ldap.modify(&group(cn), vec![change]).await.expect("modify").success().expect("member changed");
    }

    /// The `[ldap]` settings for this directory; `url` picks LDAPS or StartTLS.
    pub fn configure(&self, config: &mut Config, url: String, starttls: bool) {
        let ldap = &mut config.ldap;
        ldap.url = url;
        ldap.starttls = starttls;
        ldap.ca_file = self.ca_file();
        ldap.bind_dn = SERVICE_DN.into();
        ldap.bind_password = Secret::new(SERVICE_PASSWORD.into());
        ldap.user_base = format!("ou=Staff,{BASE}");
        ldap.timeout_seconds = 2;
        ldap.group_roles = [("Parley Admins", "administrator"), ("Parley Supervisors", "supervisor")]
            .into_iter()
            .chain([("Parley Operators", "operator")])
            .map(|(cn, role)| GroupRole { group: group(cn), role: role.into() })
            .collect();
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA and a server certificate for 127.0.0.1 signed by it, as PEM files for slapd.
fn write_certificates(dir: &Path) {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name.push(rcgen::DnType::CommonName, "Example Council test CA");
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let ca = rcgen::CertifiedIssuer::self_signed(ca, ca_key).expect("CA");
    let mut server =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("params");
    server.distinguished_name.push(rcgen::DnType::CommonName, "dc1.example.local");
    let server_key = rcgen::KeyPair::generate().expect("key");
    let cert = server.signed_by(&server_key, &ca).expect("sign");
    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write");
    std::fs::write(dir.join("server.pem"), cert.pem()).expect("write");
    std::fs::write(dir.join("server.key"), server_key.serialize_pem()).expect("write");
}

async fn sign_in(app: &TestApp, name: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.staff("/api/v1/session"))
        .json(&json!({ "username": name, "password": password }))
        .send()
        .await
        .expect("login request")
}

async fn user_row(app: &TestApp, name: &str) -> Option<(String, String, String, Option<String>, Option<String>)> {
    sqlx::query_as("SELECT role, source, display_name, email, password_hash FROM staff_users WHERE username = ?1")
        .bind(name)
        .fetch_optional(app.app.state().store.reader())
        .await
        .expect("user row")
}

async fn me(app: &TestApp, cookie: &str) -> StatusCode {
    app.client.get(app.staff("/api/v1/me")).header("cookie", cookie).send().await.expect("me").status()
}

#[tokio::test]
async fn directory_users_sign_in_with_roles_from_their_groups() {
    let slapd = Slapd::start().await;
    let app = TestApp::spawn_with(|c| slapd.configure(c, slapd.ldaps_url(), false)).await;
    app.add_user("admin", "administrator", "a local break-glass password").await;

    // First sign-in creates the record just in time, with no local password.
    let (cookie, _) = app.login("jsmith", JO_PASSWORD).await;
    let row = user_row(&app, "jsmith").await.expect("created at first sign-in");
    assert_eq!(
        row,
        ("operator".into(), "ldap".into(), "Jo Smith".into(), Some("jo.smith@example.gov.uk".into()), None)
    );
    // The userPrincipalName reaches the same record.
    app.login("JSmith@example.local", JO_PASSWORD).await;
    assert_eq!(app.user_count().await, 2);

    // Wrong password and unknown user get the same answer; nothing is created.
    let wrong = sign_in(&app, "jsmith", "not the password").await;
    let wrong_body = wrong.text().await.expect("body");
    let unknown = sign_in(&app, "nobody", JO_PASSWORD).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.text().await.expect("body"), wrong_body);
    assert!(wrong_body.contains("invalid_credentials"), "{wrong_body}");
    assert_eq!(error_code(sign_in(&app, "jsmith", "").await, StatusCode::UNAUTHORIZED).await, "invalid_credentials");
    // Filter metacharacters never reach the directory as filter syntax.
    for name in ["*)(sAMAccountName=*", "*", "jsm*"] {
        assert_eq!(
            error_code(sign_in(&app, name, JO_PASSWORD).await, StatusCode::UNAUTHORIZED).await,
            "invalid_credentials"
        );
    }
    assert_eq!(app.user_count().await, 2);

    // In two mapped groups: the first listed in ldap.group_roles decides.
    app.login("aadmin", "admin directory password").await;
    assert_eq!(user_row(&app, "aadmin").await.expect("row").0, "administrator");

    // Group changes apply at the next sign-in.
    slapd.change_member("Parley Supervisors", JO, true).await;
    app.login("jsmith", JO_PASSWORD).await;
    assert_eq!(user_row(&app, "jsmith").await.expect("row").0, "supervisor");

    // Out of every mapped group: refused, and the sessions the user had are ended.
    assert_eq!(me(&app, &cookie).await, StatusCode::OK);
    slapd.change_member("Parley Supervisors", JO, false).await;
    slapd.change_member("Parley Operators", JO, false).await;
    let refused = sign_in(&app, "jsmith", JO_PASSWORD).await;
    assert_eq!(error_code(refused, StatusCode::FORBIDDEN).await, "directory_refused");
    assert_eq!(me(&app, &cookie).await, StatusCode::UNAUTHORIZED);

    // Disabled in AD (userAccountControl 514) or in no group at all: refused, no record.
    for (name, password) in [("ddisabled", "disabled user password"), ("nnogroup", "no group password")] {
        assert_eq!(error_code(sign_in(&app, name, password).await, StatusCode::FORBIDDEN).await, "directory_refused");
        assert!(user_row(&app, name).await.is_none(), "{name} not created");
    }

    // The local administrator signs in locally all along.
    app.login("admin", "a local break-glass password").await;
    let failures: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'auth.login_failed' AND details LIKE '%directory:%'",
    )
    .fetch_one(app.app.state().store.reader())
    .await
    .expect("audit");
    assert!(failures >= 4, "directory refusals are audited ({failures})");
    app.stop().await;
}

#[tokio::test]
async fn starttls_works_like_ldaps() {
    let slapd = Slapd::start().await;
    let url = format!("ldap://127.0.0.1:{}", slapd.ldap_port);
    let app = TestApp::spawn_with(|c| slapd.configure(c, url, true)).await;
    app.login("jsmith@example.local", JO_PASSWORD).await;
    assert_eq!(user_row(&app, "jsmith").await.expect("row").1, "ldap");
    app.stop().await;
}

#[tokio::test]
async fn directory_down_is_a_clear_error_and_the_local_administrator_still_signs_in() {
    let slapd = Slapd::start().await;
    // Nothing listens on a closed port; a listener that never answers stands for a hung server.
    let closed = format!("ldaps://127.0.0.1:{}", free_port());
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let hung = format!("ldaps://127.0.0.1:{}", silent.local_addr().expect("addr").port());
    for url in [closed, hung] {
        let app = TestApp::spawn_with(|c| slapd.configure(c, url, false)).await;
        app.add_user("admin", "administrator", "a local break-glass password").await;
        let started = Instant::now();
        let response = sign_in(&app, "jsmith", JO_PASSWORD).await;
        assert_eq!(error_code(response, StatusCode::SERVICE_UNAVAILABLE).await, "directory_unavailable");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "bounded by ldap.timeout_seconds: {:?}",
            started.elapsed()
        );
        app.login("admin", "a local break-glass password").await;
        app.stop().await;
    }
}

#[tokio::test]
async fn ldap_test_command_prints_each_step_without_the_password() {
    let slapd = Slapd::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let password_file = dir.path().join("bind-password");
    std::fs::write(&password_file, format!("{SERVICE_PASSWORD}\n")).expect("write");
    let ca_file = dir.path().join("ca.pem");
    std::fs::copy(slapd.ca_file(), &ca_file).expect("copy CA");
    let config = dir.path().join("config.toml");
    let toml = format!(
        "[ldap]\nurl = \"{}\"\nca_file = \"{}\"\nbind_dn = \"{SERVICE_DN}\"\nbind_password_file = \"{}\"\nuser_base = \"{BASE}\"\n\
         group_roles = [{{ group = \"{}\", role = \"operator\" }}]\n",
        slapd.ldaps_url(),
        ca_file.display(),
        password_file.display(),
        group("Parley Operators"),
    );
    std::fs::write(&config, toml).expect("write");
    let config = config.display().to_string();

    let output = parley(
        &["ldap", "test", "--config", &config, "--user", "jsmith", "--password-stdin"],
        dir.path(),
        Some(JO_PASSWORD),
    );
    let shown = text(&output);
    assert!(output.status.success(), "{shown}");
    for expected in
        ["[ok  ] connect", "[ok  ] service bind", JO, "[ok  ] user bind", "role operator", "cn=Parley Operators"]
    {
        assert!(shown.contains(expected), "{expected} in {shown}");
    }
    assert!(!shown.contains(JO_PASSWORD) && !shown.contains(SERVICE_PASSWORD), "{shown}");

    let wrong = parley(
        &["ldap", "test", "--config", &config, "--user", "jsmith", "--password-stdin"],
        dir.path(),
        Some("nope"),
    );
    assert!(!wrong.status.success());
    assert!(text(&wrong).contains("[FAIL] user bind"), "{}", text(&wrong));

    // The name is escaped: `jsm*` is searched literally and finds no one.
    let injected = parley(&["ldap", "test", "--config", &config, "--user", "jsm*"], dir.path(), None);
    assert!(!injected.status.success());
    assert!(text(&injected).contains("sAMAccountName=jsm\\2a"), "{}", text(&injected));
    assert!(text(&injected).contains("ldap.user_filter"), "{}", text(&injected));

    let disabled = parley(&["ldap", "test", "--config", &config, "--user", "ddisabled"], dir.path(), None);
    assert!(text(&disabled).contains("disabled in the directory"), "{}", text(&disabled));

    drop(slapd);
    let down = parley(&["ldap", "test", "--config", &config, "--user", "jsmith"], dir.path(), None);
    assert!(!down.status.success());
    assert!(text(&down).contains("[FAIL] connect"), "{}", text(&down));
}
