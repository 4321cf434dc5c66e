//! Child processes for a benchmark run: the real server (`parley serve` on a temporary data
//! directory and loopback ports) and the bare relay, each measured from /proc on its own.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Resident memory and CPU time used so far by one process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub rss_kib: u64,
    pub cpu_seconds: f64,
}

/// /proc/<pid>/status (VmRSS) and /proc/<pid>/stat (utime + stime, in USER_HZ = 100 ticks).
pub fn usage(pid: u32) -> Result<Usage, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| format!("process {pid}: {e}"))?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("process {pid}: no VmRSS"))?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| format!("process {pid}: {e}"))?;
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Ok(Usage { rss_kib, cpu_seconds: (ticks(11) + ticks(12)) as f64 / 100.0 })
}

/// Raises the soft open-files limit to the hard one; returns the limit now in force.
pub fn raise_fd_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(_) => rlimit::getrlimit(rlimit::Resource::NOFILE).map(|(soft, _)| soft).unwrap_or(1024),
    }
}

pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

fn exe() -> Result<PathBuf, String> {
    std::env::current_exe().map_err(|e| format!("cannot find the parley binary: {e}"))
}

/// A child process, killed (SIGKILL) when dropped.
pub struct Proc {
    child: Child,
    /// Where its standard error goes (shown when it fails to start).
    pub log: PathBuf,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn usage(&self) -> Result<Usage, String> {
        usage(self.pid())
    }

    /// Fails with the end of its log if the process has exited.
    fn check_alive(&mut self, what: &str) -> Result<(), String> {
        if let Ok(Some(status)) = self.child.try_wait() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(10).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!("{what} exited ({status}):\n{}", tail.join("\n")));
        }
        Ok(())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How the benchmark server is configured.
pub struct ServerOptions {
    /// Reduced argon2 cost (as the tests use), so operator sign-in is quick.
    pub cheap_argon2: bool,
    /// Login attempts per IP per minute; None keeps the default.
    pub login_limit: Option<u32>,
}

fn server_env(command: &mut Command, options: &ServerOptions) {
    command.env_remove("PARLEY_CONFIG").env("PARLEY_LOG__LEVEL", "warn");
    if options.cheap_argon2 {
        command.env("PARLEY_AUTH__ARGON2_MEMORY_KIB", "64").env("PARLEY_AUTH__ARGON2_ITERATIONS", "1");
    }
}

/// Creates operator accounts with `parley user add` before the server starts.
pub fn add_operators(data: &Path, names: &[String], password: &str, options: &ServerOptions) -> Result<(), String> {
    for name in names {
        let mut command = Command::new(exe()?);
        command.args(["user", "add", name, "--role", "operator", "--password-stdin", "--data-dir"]).arg(data);
        server_env(&mut command, options);
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("parley user add: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(format!("{password}\n").as_bytes()).map_err(|e| format!("parley user add: {e}"))?;
        }
        let out = child.wait_with_output().map_err(|e| format!("parley user add: {e}"))?;
        if !out.status.success() {
            return Err(format!("parley user add {name} failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
    }
    Ok(())
}

pub struct Server {
    pub proc: Proc,
    pub public: SocketAddr,
    pub staff: SocketAddr,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Starts `parley serve` on `data` and waits until both listeners accept connections.
pub async fn start_server(data: &Path, options: &ServerOptions) -> Result<Server, String> {
    let public: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse().map_err(|e| format!("{e}"))?;
    let staff: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse().map_err(|e| format!("{e}"))?;
    let log = data.with_extension("log");
    let stderr = std::fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let mut command = Command::new(exe()?);
    command.args(["serve", "--data-dir"]).arg(data).args([
        "--public-addr",
        &public.to_string(),
        "--staff-addr",
        &staff.to_string(),
    ]);
    server_env(&mut command, options);
    command
        .env("PARLEY_CHAT__ROUTING", "least_busy")
        .env("PARLEY_CHAT__MAX_CHATS", "1000000")
        .env("PARLEY_SERVER__SHUTDOWN_GRACE_SECONDS", "1")
        // Every load client comes from loopback: the per-address widget limit would refuse them.
        .env("PARLEY_WIDGET__CONNECTIONS_PER_MINUTE_PER_IP", "100000000")
        // ...and so would the cap on connections one address may hold open.
        .env("PARLEY_SERVER__PUBLIC_CONNECTIONS_PER_IP", "0");
    if let Some(limit) = options.login_limit {
        command.env("PARLEY_AUTH__LOGIN_ATTEMPTS_PER_MINUTE", limit.to_string());
    }
    let child =
        command.stdout(Stdio::null()).stderr(stderr).spawn().map_err(|e| format!("cannot start parley serve: {e}"))?;
    let mut proc = Proc { child, log };
    let cert = data.join("tls/cert.pem");
    wait_listening(&mut proc, "parley serve", &[public, staff], &cert).await?;
    Ok(Server { proc, public, staff, key: data.join("tls/key.pem"), cert })
}

/// Starts the bare relay (`parley bench relay`, hidden) with the same certificate.
pub async fn start_relay(cert: &Path, key: &Path, scratch: &Path) -> Result<(Proc, SocketAddr), String> {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse().map_err(|e| format!("{e}"))?;
    let log = scratch.join("relay.log");
    let stderr = std::fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let child = Command::new(exe()?)
        .args(["bench", "relay", "--listen", &addr.to_string(), "--cert"])
        .arg(cert)
        .arg("--key")
        .arg(key)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("cannot start the relay: {e}"))?;
    let mut proc = Proc { child, log };
    wait_listening(&mut proc, "the relay", &[addr], cert).await?;
    Ok((proc, addr))
}

async fn wait_listening(proc: &mut Proc, what: &str, addrs: &[SocketAddr], cert: &Path) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        proc.check_alive(what)?;
        let mut up = cert.exists();
        for addr in addrs {
            up = up && tokio::net::TcpStream::connect(addr).await.is_ok();
        }
        if up {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{what} did not start listening within 60 s (log: {})", proc.log.display()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
