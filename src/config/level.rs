//! `log.level`: a level name or a tracing filter whose every directive names a level. The
//! tracing parser alone takes `warning` or `infoo` as a module name and silences every log line.

/// The level names a directive may end in.
const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// Checks `level`; the error says what a valid value looks like.
pub fn check(level: &str) -> Result<(), String> {
    let hint = "use trace, debug, info, warn, error or off, or a filter such as \"parley=debug,info\"";
    if level.trim().is_empty() {
        return Err(format!("must not be empty: {hint}"));
    }
    for directive in level.split(',').map(str::trim) {
        let (target, name) = match directive.rsplit_once('=') {
            Some((target, name)) => (Some(target.trim()), name.trim()),
            None => (None, directive),
        };
        if target.is_some_and(str::is_empty) {
            return Err(format!("`{directive}` names no module before `=`: {hint}"));
        }
        if !LEVELS.iter().any(|known| known.eq_ignore_ascii_case(name)) {
            return Err(format!("`{name}` is not a log level: {hint}"));
        }
    }
    if tracing_subscriber::EnvFilter::try_new(level).is_err() {
        return Err(format!("`{level}` is not a log level or filter: {hint}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn levels_and_filters_pass_and_misspellings_fail() {
        for good in ["info", "WARN", "off", "parley=debug,info", "parley::http=trace, warn", "h2=off,error"] {
            check(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in ["warning", "infoo", "", "parley", "parley=loud", "=debug", "info,,"] {
            let message = check(bad).expect_err(bad);
            assert!(message.contains("trace, debug, info, warn, error or off"), "{bad}: {message}");
        }
    }
}
