//! A small W3C WebDriver client over HTTP for Debian's chromium + chromedriver: enough to drive
//! pages like a person (type, click, read text) and take screenshots.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
    session: String,
}

/// Where screenshots go, for a person to look at after the run.
pub fn output_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

impl Driver {
    /// Starts chromedriver on a free loopback port and opens a headless Chromium session that
    /// trusts exactly the certificate whose key is in `key_pem` (SPKI pin, no blanket bypass).
    pub async fn start(key_pem: &Path) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let child = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed by scripts/test (Debian package chromium-driver)");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = http.get(format!("{base}/status")).send().await.ok();
            if let Some(r) = ready
                && r.json::<Value>().await.ok().and_then(|v| v["value"]["ready"].as_bool()) == Some(true)
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let key = rcgen::KeyPair::from_pem(&std::fs::read_to_string(key_pem).expect("key")).expect("key pem");
        let spki = rcgen::PublicKeyData::subject_public_key_info(&key);
        let pin = base64::engine::general_purpose::STANDARD.encode(<sha2::Sha256 as sha2::Digest>::digest(&spki));
        let profile = tempfile::tempdir().expect("profile");
        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--window-size=1280,900".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
            format!("--ignore-certificate-errors-spki-list={pin}"),
        ];
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args }
        }}});
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("json");
        let session =
            created["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {created}")).to_owned();
        Driver { child, base, http, _profile: profile, session }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let value: Value = request.send().await.expect("webdriver call").json().await.expect("webdriver json");
        value["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    /// Waits (bounded) until `css` matches an element and returns its id.
    pub async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let found = self
                .call(reqwest::Method::POST, "/element", Some(json!({ "using": "css selector", "value": css })))
                .await;
            if let Some(id) = found[ELEMENT].as_str() {
                return id.to_owned();
            }
            assert!(Instant::now() < deadline, "no element {css}: {found}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({ "text": text }))).await;
    }

    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    /// Runs a script in the page and returns its result.
    pub async fn eval(&self, script: &str) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({ "script": script, "args": [] }))).await
    }

    /// Waits (bounded) until the visible text of `css` contains `needle`.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let id = self.find(css).await;
            let text = self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None).await;
            let text = text.as_str().unwrap_or_default().to_owned();
            if text.contains(needle) {
                return text;
            }
            assert!(Instant::now() < deadline, "{css} never showed {needle:?}; last: {text:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Moves into the iframe matched by `css` (commands then act inside it).
    pub async fn enter_frame(&self, css: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, "/frame", Some(json!({ "id": { ELEMENT: id } }))).await;
    }

    /// Runs axe-core (vendored) on the current page or frame against WCAG 2.2 A/AA and returns
    /// the serious and critical violations as "rule: target" lines.
    pub async fn axe_violations(&self) -> Vec<String> {
        const AXE: &str = include_str!("../../vendor/axe-core/axe.min.js");
        self.eval(&format!("{AXE}\nreturn true;")).await;
        let script = "const done = arguments[arguments.length - 1];
            axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
              .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                .flatMap(v => v.nodes.map(n => v.id + ': ' + n.target.join(' ')))))
              .catch(e => done(['axe failed: ' + e]));";
        let found =
            self.call(reqwest::Method::POST, "/execute/async", Some(json!({ "script": script, "args": [] }))).await;
        found
            .as_array()
            .unwrap_or_else(|| panic!("axe result: {found}"))
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    }

    /// Waits (bounded) until the script returns true.
    /// Clicks "Sign out" and waits for the fresh sign-in page: the click navigates, so the old
    /// page's (hidden) form must not be typed into while the new one loads.
    pub async fn sign_out(&self) {
        self.eval("window.parleyOldPage = true; return true").await;
        self.click("#logout").await;
        let fresh = "return window.parleyOldPage === undefined && document.readyState === 'complete' \
                     && document.getElementById('login-view')?.hidden === false";
        self.wait_until(fresh, "the sign-in page after signing out").await;
    }

    pub async fn wait_until(&self, script: &str, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.eval(script).await.as_bool() != Some(true) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let data = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(data.as_str().expect("base64")).expect("png");
        let path = output_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    pub async fn quit(mut self) {
        let _ = self.http.delete(format!("{}/session/{}", self.base, self.session)).send().await;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
