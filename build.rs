//! Rebuild when embedded files change: include_dir! and sqlx::migrate! do not notice new files.
//! Also passes the locked versions of the bundled TLS and SQLite crates to `parley version
//! --verbose` (PARLEY_VERSION_<CRATE> environment variables at compile time).
fn main() {
    println!("cargo:rerun-if-changed=assets");
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=config.example.toml");
    println!("cargo:rerun-if-changed=docs/protocol.md");
    // The commit /metrics reports (parley_build_info), when the build sets it.
    println!("cargo:rerun-if-env-changed=PARLEY_GIT_COMMIT");
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    for (krate, variable) in [
        ("rustls", "PARLEY_VERSION_RUSTLS"),
        ("ring", "PARLEY_VERSION_RING"),
        ("libsqlite3-sys", "PARLEY_VERSION_LIBSQLITE3_SYS"),
    ] {
        let version = locked_version(&lock, krate).unwrap_or_else(|| "unknown".into());
        println!("cargo:rustc-env={variable}={version}");
    }
}

/// The version of the first `[[package]]` named `krate` in Cargo.lock.
fn locked_version(lock: &str, krate: &str) -> Option<String> {
    let wanted = format!("name = \"{krate}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let version = lines.next()?.trim().strip_prefix("version = \"")?.strip_suffix('"')?;
            return Some(version.to_owned());
        }
    }
    None
}
