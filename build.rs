//! Rebuild when embedded files change: include_dir! and sqlx::migrate! do not notice new files.
fn main() {
    println!("cargo:rerun-if-changed=assets");
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=config.example.toml");
    println!("cargo:rerun-if-changed=docs/protocol.md");
}
