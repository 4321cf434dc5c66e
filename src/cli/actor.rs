//! Who runs a console command: the operating-system user behind the process's real user id (read
//! from `/proc/self/status`, named from `/etc/passwd`), never an environment variable such as
//! `SUDO_USER` that anyone can set. Used as the audit actor `cli:<user>`, so a second approver
//! from the console is a different OS account, not a different variable.

/// The audit actor for a console command: `cli:` and the real user's name (`uid<N>` when the
/// user has no passwd entry, `unknown` without `/proc`).
pub fn console_actor() -> String {
    format!("cli:{}", os_user())
}

fn os_user() -> String {
    let Some(uid) = std::fs::read_to_string("/proc/self/status").ok().and_then(|s| real_uid(&s)) else {
        return "unknown".into();
    };
    std::fs::read_to_string("/etc/passwd").ok().and_then(|p| user_name(&p, uid)).unwrap_or_else(|| format!("uid{uid}"))
}

/// The real user id: the first number of the `Uid:` line (real, effective, saved, file system).
fn real_uid(status: &str) -> Option<u32> {
    status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|r| r.split_whitespace().next())?.parse().ok()
}

/// The name of `uid` in passwd(5) text (`name:password:uid:gid:…`), if it is a plain name.
fn user_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id: u32 = fields.nth(1)?.parse().ok()?;
        let plain = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        (id == uid && plain).then(|| name.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_uid_is_named_from_passwd() {
        let status = "Name:\tparley\nUmask:\t0022\nUid:\t1001\t0\t0\t0\nGid:\t1001\t1001\t1001\t1001\n";
        assert_eq!(real_uid(status), Some(1001), "the real id, not the effective 0");
        let passwd = "root:x:0:0:root:/root:/bin/bash\n# comment\nbad line\nnia:x:1001:1001::/home/nia:/bin/sh\n";
        assert_eq!(user_name(passwd, 1001).as_deref(), Some("nia"));
        assert_eq!(user_name(passwd, 0).as_deref(), Some("root"));
        assert_eq!(user_name(passwd, 7), None);
        assert!(console_actor().starts_with("cli:"));
    }
}
