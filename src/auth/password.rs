//! Argon2id password hashing. Hashing is CPU- and memory-heavy, so it runs on a few threads of
//! its own behind a semaphore, in the idle scheduling class: a flood of logins waits in line, and
//! what hashing there is only gets the CPU that chats leave.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;
use tokio::sync::Semaphore;

use crate::config::AuthConfig;

pub const MIN_PASSWORD_CHARS: usize = 12;

/// Sign-ins that may wait for each hashing permit before more are refused (503 `busy`).
const WAITING_PER_PERMIT: usize = 8;

/// `auth.max_concurrent_hashes`, where 0 means: one core fewer than the machine has (at least
/// one), so chats always keep a core while passwords are hashed.
pub fn hash_permits(configured: usize) -> usize {
    match configured {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1)).max(1),
        n => n,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
    /// Too many sign-ins already wait for a hash: refused at once, so a flood costs no CPU.
    #[error("too many sign-ins at once; try again in a few seconds")]
    Busy,
    #[error("password hashing failed: {0}")]
    Hash(String),
}

type Job = Box<dyn FnOnce() + Send>;

/// Threads that only hash passwords, each at a lower CPU priority. Dropping the last sender ends
/// them.
fn start_hash_threads(count: usize) -> Result<std::sync::mpsc::Sender<Job>, HashError> {
    let (sender, receiver) = std::sync::mpsc::channel::<Job>();
    let receiver = Arc::new(std::sync::Mutex::new(receiver));
    for n in 0..count {
        let receiver = Arc::clone(&receiver);
        std::thread::Builder::new()
            .name(format!("parley-hash-{n}"))
            .spawn(move || {
                lower_priority();
                loop {
                    let job = match receiver.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            })
            .map_err(|e| HashError::Hash(format!("cannot start a hashing thread: {e}")))?;
    }
    Ok(sender)
}

/// Puts the calling thread in the idle scheduling class (`SCHED_IDLE`, at the lowest nice
/// value): it runs only on CPU time nothing else wants, and a chat task that wakes up takes the
/// core from it at once. Best effort: where this is not allowed, hashing runs at normal priority.
fn lower_priority() {
    use thread_priority::unix::{
        NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy, thread_native_id,
    };
    let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
    if let Err(err) = set_thread_priority_and_policy(thread_native_id(), thread_priority::ThreadPriority::Min, idle) {
        tracing::debug!(error = ?err, "could not lower the hashing thread's priority");
    }
}

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    jobs: std::sync::mpsc::Sender<Job>,
    permits: Arc<Semaphore>,
    /// Sign-ins waiting for a permit, and how many may wait before more are refused.
    waiting: Arc<std::sync::atomic::AtomicUsize>,
    max_waiting: usize,
    /// Verified against when the user does not exist, so both cases take the same time.
    dummy_hash: Arc<String>,
}

impl PasswordHasher {
    pub fn new(config: &AuthConfig) -> Result<PasswordHasher, HashError> {
        let params = Params::new(config.argon2_memory_kib, config.argon2_iterations, config.argon2_parallelism, None)
            .map_err(|e| HashError::Params(e.to_string()))?;
        let permits = hash_permits(config.max_concurrent_hashes);
        let dummy = hash_with(&params, &generate_password())?;
        Ok(PasswordHasher {
            params,
            jobs: start_hash_threads(permits)?,
            permits: Arc::new(Semaphore::new(permits)),
            waiting: Arc::default(),
            max_waiting: permits * WAITING_PER_PERMIT,
            dummy_hash: Arc::new(dummy),
        })
    }

    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let params = self.params.clone();
        self.limited(move || hash_with(&params, &password)).await?
    }

    /// Checks `password` against `hash`, or against a dummy hash when `hash` is `None`
    /// (unknown user), returning false in that case after the same amount of work.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, HashError> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        let matches = self.limited(move || verify_with(&password, &hash)).await?;
        Ok(known && matches)
    }

    async fn limited<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, HashError> {
        use std::sync::atomic::Ordering;
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(HashError::Busy);
        }
        let permit = self.permits.acquire().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let _permit = permit.map_err(|e| HashError::Hash(e.to_string()))?;
        // One thread per permit: a job sent while holding a permit starts at once.
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs.send(job).map_err(|_| HashError::Hash("the hashing threads have stopped".into()))?;
        result.await.map_err(|_| HashError::Hash("a hashing thread stopped while hashing".into()))
    }
}

fn hash_with(params: &Params, password: &str) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    rand::rng().fill(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| HashError::Hash(e.to_string()))?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Hash(e.to_string()))
}

fn verify_with(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        // Verification uses the parameters stored in the hash itself.
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A random 20-character password from an alphabet without look-alike characters.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// The embedded common-password list (credited at the top of the file).
const COMMON_PASSWORDS: &str = include_str!("common-passwords.txt");

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    COMMON_PASSWORDS.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
});

/// How many passwords the embedded list holds.
pub fn common_password_count() -> usize {
    COMMON.len()
}

/// True when the password is on the common list, compared case-insensitively, also after
/// removing spaces and punctuation and after removing digits and symbols at either end
/// (`Summer2024!` and `P@ssword 1234` count as `summer` and `p@ssword`), or when it is one
/// listed word repeated (`monkeymonkeymonkey`).
pub fn is_common(password: &str) -> bool {
    let lower = password.trim().to_lowercase();
    let squeezed: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    let core = squeezed.trim_matches(|c: char| !c.is_alphabetic());
    let candidates = [lower.as_str(), squeezed.as_str(), core];
    if candidates.iter().any(|c| !c.is_empty() && COMMON.contains(c)) {
        return true;
    }
    // A listed word repeated: the shortest period of the core that is itself listed.
    let chars: Vec<char> = core.chars().collect();
    (1..=chars.len() / 2).any(|period| {
        chars.len().is_multiple_of(period)
            && chars.chunks(period).all(|chunk| chunk == &chars[..period])
            && COMMON.contains(chars[..period].iter().collect::<String>().as_str())
    })
}

/// The local password rules. Returns the problem in words a user can act on.
pub fn check_policy(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!("a password needs at least {MIN_PASSWORD_CHARS} characters"));
    }
    if password.chars().count() > 1024 {
        return Err("a password may have at most 1024 characters".into());
    }
    if is_common(password) {
        return Err("this password is on the list of commonly used passwords; choose a less predictable one".into());
    }
    Ok(())
}

/// Minutes an account stays locked after `failures` failed sign-ins in a row: nothing below
/// `threshold`, then 1, 2, 4, 8 … minutes for each further failure, at most `max_minutes`.
pub fn lockout_minutes(failures: u32, threshold: u32, max_minutes: u64) -> u64 {
    if threshold == 0 || failures < threshold {
        return 0;
    }
    let doublings = (failures - threshold).min(32);
    (1u64 << doublings).min(max_minutes.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> AuthConfig {
        AuthConfig {
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            argon2_memory_kib: 64,
            argon2_iterations: 1,
            argon2_parallelism: 1,
            max_concurrent_hashes: 1,
            login_attempts_per_minute: 10,
            login_attempts_per_account_per_minute: 10,
            password_max_age_days: 0,
            lockout_threshold: 5,
            lockout_max_minutes: 60,
            totp_required_roles: Vec::new(),
        }
    }

    /// Scheduling policy (field 41 of /proc/…/stat) of this process's threads named `name`.
    fn policy_of_threads_named(name: &str) -> Vec<u32> {
        let mut found = Vec::new();
        for task in std::fs::read_dir("/proc/self/task").expect("tasks").flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.trim() != name {
                continue;
            }
            let stat = std::fs::read_to_string(task.path().join("stat")).expect("stat");
            // After the ")" that ends the command name: state is field 3, policy is field 41.
            let after = &stat[stat.rfind(')').expect("comm end") + 2..];
            found.push(after.split(' ').nth(38).expect("policy").parse().expect("number"));
        }
        found
    }

    #[tokio::test]
    async fn hashing_runs_on_its_own_threads_in_the_idle_class() {
        const SCHED_IDLE: u32 = 5;
        let hasher = PasswordHasher::new(&AuthConfig { max_concurrent_hashes: 1, ..cheap() }).expect("hasher");
        let name = std::thread::current().name().map(str::to_owned);
        let thread = hasher.limited(|| std::thread::current().name().map(str::to_owned)).await.expect("ran");
        assert_ne!(thread, name);
        assert_eq!(thread.as_deref(), Some("parley-hash-0"));
        assert!(hasher.hash("correct horse battery".into()).await.is_ok());
        // Other tests' hashers may have threads of the same name; every one is lowered.
        let found = policy_of_threads_named("parley-hash-0");
        assert!(!found.is_empty() && found.iter().all(|&p| p == SCHED_IDLE), "{found:?}");
    }

    #[tokio::test]
    async fn hashes_verify_and_reject() {
        let hasher = PasswordHasher::new(&cheap()).expect("hasher");
        let hash = hasher.hash("correct horse battery".into()).await.expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(hasher.verify("correct horse battery".into(), Some(hash.clone())).await.expect("verify"));
        assert!(!hasher.verify("wrong horse battery".into(), Some(hash)).await.expect("verify"));
        assert!(!hasher.verify("anything at all".into(), None).await.expect("verify"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flood_beyond_the_waiting_line_is_refused_without_hashing() {
        let hasher = PasswordHasher::new(&cheap()).expect("hasher");
        // The one permit is taken: 8 sign-ins may wait for it, the other 12 of 20 are refused.
        let held = Arc::clone(&hasher.permits).acquire_owned().await.expect("permit");
        let tries: Vec<_> = (0..20)
            .map(|_| {
                let hasher = hasher.clone();
                tokio::spawn(async move { hasher.verify("x".into(), None).await })
            })
            .collect();
        // Every try has either queued or been refused before the permit comes free.
        while hasher.waiting.load(std::sync::atomic::Ordering::SeqCst) < WAITING_PER_PERMIT
            || tries.iter().filter(|t| t.is_finished()).count() < 20 - WAITING_PER_PERMIT
        {
            tokio::task::yield_now().await;
        }
        drop(held);
        let mut busy = 0;
        for attempt in tries {
            match attempt.await.expect("task") {
                Err(HashError::Busy) => busy += 1,
                Ok(false) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(busy, 20 - WAITING_PER_PERMIT, "beyond the line, refused");
        assert_eq!(hash_permits(3), 3);
        assert!(hash_permits(0) >= 1);
    }

    #[test]
    fn policy_and_generator() {
        assert!(check_policy("short").is_err());
        assert!(check_policy("twelve chars").is_ok());
        assert!(check_policy("correct horse battery staple").is_ok());
        let generated = generate_password();
        assert_eq!(generated.len(), 20);
        assert!(check_policy(&generated).is_ok());
        assert_ne!(generated, generate_password());
    }

    #[test]
    fn common_passwords_are_refused_whatever_the_case() {
        assert!(common_password_count() >= 10_000, "{}", common_password_count());
        for weak in [
            "1qaz2wsx3edc",
            "QWERTY123456",
            "LeaveMeAlone",
            "Password1234",
            "Summer2024!!",
            "p a s s w o r d 1 2 3",
            "monkeymonkeymonkey",
            "  1q2w3e4r5t6y  ",
        ] {
            let problem = check_policy(weak).expect_err(weak);
            assert!(problem.contains("commonly used"), "{weak}: {problem}");
        }
        for fine in ["plum kettle orbit 1947", "Vx7-harbour-lantern", "dragon-7f3k2j9x8q"] {
            assert_eq!(check_policy(fine), Ok(()), "{fine}");
        }
    }

    #[test]
    fn lockout_backs_off_and_is_capped() {
        assert_eq!(lockout_minutes(4, 5, 60), 0);
        assert_eq!(lockout_minutes(5, 5, 60), 1);
        assert_eq!(lockout_minutes(6, 5, 60), 2);
        assert_eq!(lockout_minutes(8, 5, 60), 8);
        assert_eq!(lockout_minutes(11, 5, 60), 60);
        assert_eq!(lockout_minutes(200, 5, 60), 60);
    }
}
