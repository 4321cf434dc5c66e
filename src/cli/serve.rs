//! `parley serve`: build the application, tell systemd, handle SIGHUP (reload TLS) and
//! SIGTERM/SIGINT (graceful stop).

use tokio::signal::unix::{SignalKind, signal};

use super::ServeArgs;
use crate::app::Application;
use crate::auth::password::generate_password;

pub async fn run(args: ServeArgs) -> Result<(), String> {
    let config = args.config.load(args.public_addr, args.staff_addr).map_err(|e| e.to_string())?;
    crate::telemetry::init_logging(&config.log);
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    super::preflight::require_database(&config)?;
    let db = super::preflight::database_file(&config);
    let demo = config.demo;
    let app = Application::build(config).await.map_err(|e| super::preflight::explain(&db, e.to_string()))?;
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

/// Gives the demo page two departments (one always open, one with office hours and the bank
/// holidays of England and Wales) staffed by the demo operator, and a colour.
async fn seed_demo(state: &crate::app::AppState) -> Result<(), String> {
    use crate::service::departments::{Assignment, DepartmentInput, Mode};
    use crate::service::hours::{DAYS, Region, Schedule};
    use crate::service::sites::{SiteInput, Theme};
    let office: Schedule =
        Schedule(DAYS[..5].iter().map(|d| ((*d).to_owned(), vec![["09:00".to_owned(), "17:00".to_owned()]])).collect());
    let departments = [
        ("general", "General enquiries", "Ymholiadau cyffredinol", None, false),
        ("council-tax", "Council tax", "Treth gyngor", Some(office), true),
    ];
    for (key, name, name_cy, hours, closed_on_bank_holidays) in departments {
        let input = DepartmentInput {
            name: name.into(),
            name_cy: Some(name_cy.into()),
            routing: Mode::LeastBusy,
            assignment: Assignment::Auto,
            hours,
            closed_on_bank_holidays,
            members: vec!["demo".into()],
        };
        state.departments.save(key, input).await.map_err(|e| e.to_string())?;
    }
    let year = time::OffsetDateTime::now_utc().year();
    for y in [year, year + 1] {
        state.departments.generate_holidays(Region::EnglandAndWales, y).await.map_err(|e| e.to_string())?;
    }
    let site = SiteInput {
        name: "Demo page".into(),
        departments: vec!["general".into(), "council-tax".into()],
        theme: Theme {
            colour: Some("#00703c".into()),
            greeting: Some("Ask us about council tax, bins, parking or anything else.".into()),
            greeting_cy: Some("Gofynnwch i ni am dreth gyngor, biniau, parcio neu unrhyw beth arall.".into()),
            ..Theme::default()
        },
        ..SiteInput::default()
    };
    state.sites.save("demo", site).await.map_err(|e| e.to_string())?;
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
            seed_demo(state).await?;
            format!("  Demo operator: user `demo`, password `{password}` (shown once)")
        }
    };
    // Printed to standard output, not the log: this is the one place a password is shown.
    say!(
        "\nParley demo is running (data in {data}).\n  Demo web page with the chat widget: https://{public}/demo\n  \
         Staff dashboard:                    https://{staff}/\n  Administration:                     https://{staff}/admin\n  \
         API description:                    https://{staff}/api/v1/openapi.json\n{credentials}\n  \
         The certificate is self-signed: your browser will ask you to accept it once per address.\n",
        data = state.config.server.data_dir.display(),
    );
    Ok(())
}
