//! `parley user add|list|disable|reset-password` — the same service code the dashboard uses.

use std::io::Read;

use clap::Subcommand;

use super::ConfigArgs;
use crate::service::accounts::Accounts;
use crate::store::Store;
use crate::util::rfc3339;

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a local account. Without --password-stdin a password is generated and printed once.
    #[command(
        after_help = "Examples:\n  parley user add jsmith --role operator --display-name \"Jo Smith\"\n  echo 'a long passphrase' | parley user add admin --role administrator --password-stdin"
    )]
    Add {
        name: String,
        /// operator, supervisor, administrator, dpo or auditor
        #[arg(long)]
        role: String,
        /// Name shown to visitors and colleagues (default: the user name).
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from standard input (first line) instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List accounts.
    List {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Disable an account and end its sessions at once.
    #[command(after_help = "Example:\n  parley user disable jsmith")]
    Disable {
        name: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Give an account a new generated password (printed once), to be changed at next login.
    #[command(after_help = "Example:\n  parley user reset-password jsmith")]
    ResetPassword {
        name: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

async fn open(args: &ConfigArgs) -> Result<(Store, Accounts), String> {
    let config = args.load(None, None).map_err(|e| e.to_string())?;
    let store = super::preflight::open_store(&config).await?;
    crate::store::keyring::load_keyring_for_audit(&store, &crate::crypto::KekFile::from_config(&config)).await;
    let accounts = Accounts::new(store.clone(), &config.auth).map_err(|e| e.to_string())?;
    Ok((store, accounts))
}

pub async fn run(command: UserCommand) -> Result<(), String> {
    match command {
        UserCommand::Add { name, role, display_name, password_stdin, config } => {
            let password = if password_stdin { Some(read_password()?) } else { None };
            let (store, accounts) = open(&config).await?;
            let result = accounts.add_user(&name, &role, display_name.as_deref(), password).await;
            store.close().await;
            let (user, generated) = result.map_err(|e| format!("{e}"))?;
            say!("created {} `{}` ({})", user.role, user.username, user.display_name);
            if let Some(password) = generated {
                say!("password (shown once; must be changed at first login): {password}");
            }
            Ok(())
        }
        UserCommand::List { config } => {
            let (store, accounts) = open(&config).await?;
            let users = accounts.list_users().await;
            store.close().await;
            let users = users.map_err(|e| e.to_string())?;
            say!("{:<24} {:<14} {:<6} {:<9} {:<21} DISPLAY NAME", "USER", "ROLE", "SOURCE", "STATE", "CREATED");
            for u in users {
                let state = if u.disabled { "disabled" } else { "active" };
                say!(
                    "{:<24} {:<14} {:<6} {:<9} {:<21} {}",
                    u.username,
                    u.role,
                    u.source,
                    state,
                    rfc3339(u.created_at),
                    u.display_name
                );
            }
            Ok(())
        }
        UserCommand::Disable { name, config } => {
            let (store, accounts) = open(&config).await?;
            let result = accounts.disable_user(&name).await;
            store.close().await;
            result.map_err(|e| e.to_string())?;
            say!("disabled `{name}` and ended its sessions");
            Ok(())
        }
        UserCommand::ResetPassword { name, config } => {
            let (store, accounts) = open(&config).await?;
            let result = accounts.reset_password(&name).await;
            store.close().await;
            let password = result.map_err(|e| e.to_string())?;
            say!("new password for `{name}` (shown once; must be changed at next login): {password}");
            Ok(())
        }
    }
}

fn read_password() -> Result<String, String> {
    let mut input = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut input)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let line = input.lines().next().unwrap_or_default().to_owned();
    if line.is_empty() {
        return Err("no password on standard input; pipe it in, e.g. `echo '…' | parley user add …`".into());
    }
    Ok(line)
}
