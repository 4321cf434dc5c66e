//! Keys a later version no longer knows: for one release after the removal a file (or
//! `PARLEY_*` variable) that still sets one loads with a warning saying what to do instead.
//! Add a row when a key is removed or renamed; delete it one release later.

/// A key that existed in an earlier release.
pub struct Removed {
    /// Dotted key, e.g. `server.old_name`.
    pub key: &'static str,
    /// The release that removed it.
    pub since: &'static str,
    /// What to do instead (the new key, or "delete the line").
    pub advice: &'static str,
}

/// Keys removed in this release. Empty today.
const REMOVED: &[Removed] = &[];

/// A stand-in row so the warning path is tested while the real table is empty.
#[cfg(test)]
const TEST_REMOVED: &[Removed] =
    &[Removed { key: "server.legacy_listener", since: "0.1.0", advice: "use server.public_addr" }];

/// The row for `key`, if it is a key this release removed.
pub fn find(key: &str) -> Option<&'static Removed> {
    #[cfg(test)]
    if let Some(row) = TEST_REMOVED.iter().find(|r| r.key == key) {
        return Some(row);
    }
    REMOVED.iter().find(|r| r.key == key)
}

/// The warning printed by `configtest` and logged by `serve`.
pub fn warning(row: &Removed, origin: &str) -> String {
    format!(
        "{origin}: `{}` was removed in parley {} and is ignored; {}. Remove it before the next release, which refuses it.",
        row.key, row.since, row.advice
    )
}
