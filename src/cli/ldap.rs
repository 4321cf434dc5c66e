//! `parley ldap test --user NAME`: runs the directory sign-in step by step and prints what each
//! step found, for an IT administrator setting up Active Directory (docs/security.md). It reads
//! the directory only: no staff record is created or changed, and no password is printed.

use std::io::Read;

use clap::Subcommand;

use super::ConfigArgs;
use crate::service::directory::{Directory, DirectoryError, Step};

#[derive(Subcommand, Debug)]
pub enum LdapCommand {
    /// Try the [ldap] settings for one user: connect, service bind, search, user bind, groups.
    #[command(
        after_help = "Examples:\n  parley ldap test --user jsmith\n  parley ldap test --user jsmith@example.local --password-stdin < password.txt"
    )]
    Test {
        /// The name the user types at sign-in (sAMAccountName or userPrincipalName).
        #[arg(long)]
        user: String,
        /// Also check the user's password, read from standard input (first line). Without it
        /// the bind as the user is skipped.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

pub async fn run(command: LdapCommand) -> Result<(), String> {
    let LdapCommand::Test { user, password_stdin, config } = command;
    let config = config.load(None, None).map_err(|e| e.to_string())?;
    let directory = Directory::from_config(&config.ldap)
        .map_err(|e| e.to_string())?
        .ok_or("ldap.url is not set, so directory sign-in is off; see docs/security.md, \"Active Directory / LDAP\"")?;
    let password = match password_stdin {
        true => Some(read_password()?),
        false => None,
    };
    let mut steps = Vec::new();
    let result = directory.look_up(&user, password.as_deref(), &mut steps).await;
    for step in &steps {
        print_step(step);
    }
    let found = match result {
        Ok(found) => found,
        Err(DirectoryError::InvalidCredentials) if password.is_none() => {
            return Err(format!(
                "no single directory entry matches `{user}`: check ldap.user_base and ldap.user_filter"
            ));
        }
        Err(err) => return Err(format!("{err} (see the failed step above)")),
    };
    say!("groups ({}):", found.groups.len());
    for group in &found.groups {
        say!("  {group}");
    }
    let name = &found.user.username;
    match (&found.role, found.disabled) {
        (_, true) => Err(format!("`{name}` is disabled in the directory and cannot sign in")),
        (None, false) => Err(format!(
            "`{name}` is in none of the ldap.group_roles groups and cannot sign in; add one of the groups above to ldap.group_roles, or the user to a listed group"
        )),
        (Some(role), false) => {
            let checked = match password {
                Some(_) => "",
                None => " (password not checked: add --password-stdin)",
            };
            say!("result: `{user}` signs in as parley user `{name}` with role {role}{checked}");
            Ok(())
        }
    }
}

fn print_step(step: &Step) {
    let mark = if step.ok { "ok  " } else { "FAIL" };
    say!("[{mark}] {}: {}", step.name, step.detail);
}

fn read_password() -> Result<String, String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = input.lines().next().unwrap_or_default().to_owned();
    if password.is_empty() {
        return Err("--password-stdin was given but standard input is empty".into());
    }
    Ok(password)
}
