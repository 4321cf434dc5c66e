//! `parley serve`: build the application, tell systemd, handle SIGHUP (reload TLS) and
//! SIGTERM/SIGINT (graceful stop).

use tokio::signal::unix::{SignalKind, signal};

use super::ServeArgs;
use crate::app::Application;
use crate::auth::password::generate_password;

pub async fn run(args: ServeArgs) -> Result<(), String> {
    let config = args.config.load(args.public_addr, args.staff_addr).map_err(|e| e.to_string())?;
    crate::telemetry::init_logging(&config.log);
    let demo = config.demo;
    let app = Application::build(config).await.map_err(|e| e.to_string())?;
    if demo {
        announce_demo(&app).await?;
    }
    let mut hangup = signal(SignalKind::hangup()).map_err(|e| format!("cannot watch SIGHUP: {e}"))?;
    let mut terminate = signal(SignalKind::terminate()).map_err(|e| format!("cannot watch SIGTERM: {e}"))?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| format!("cannot watch SIGINT: {e}"))?;
    crate::systemd::ready();
    let watchdog = crate::systemd::spawn_watchdog();
    loop {
        tokio::select! {
            _ = hangup.recv() => {
                crate::systemd::reloading();
                if let Err(err) = app.reload_tls() {
                    tracing::error!(error = %err, "TLS reload failed; the previous certificate stays in use");
                }
                crate::systemd::reloaded();
            }
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    tracing::info!("shutting down");
    crate::systemd::stopping();
    if let Some(watchdog) = watchdog {
        watchdog.abort();
    }
    app.stop().await;
    Ok(())
}

/// Creates the demo operator on first start and prints where everything is.
async fn announce_demo(app: &Application) -> Result<(), String> {
    let state = app.state();
    let public = app.public_addr();
    let staff = app.staff_addr();
    let existing = state.store.user_by_name("demo").await.map_err(|e| e.to_string())?;
    let credentials = match existing {
        Some(_) => "  Demo operator: `demo` (password printed at first start; reset it with\n    \
                    cargo run --release -- user reset-password demo --demo)"
            .to_owned(),
        None => {
            let password = generate_password();
            state
                .accounts
                .add_user("demo", "operator", Some("Demo Operator"), Some(password.clone()))
                .await
                .map_err(|e| e.to_string())?;
            format!("  Demo operator: user `demo`, password `{password}` (shown once)")
        }
    };
    // Printed to standard output, not the log: this is the one place a password is shown.
    println!(
        "\nParley demo is running (data in {data}).\n  Demo web page with the chat widget: https://{public}/demo\n  \
         Staff dashboard:                    https://{staff}/\n  Administration:                     https://{staff}/admin\n  \
         API description:                    https://{staff}/api/v1/openapi.json\n{credentials}\n  \
         The certificate is self-signed: your browser will ask you to accept it once per address.\n",
        data = state.config.server.data_dir.display(),
    );
    Ok(())
}
