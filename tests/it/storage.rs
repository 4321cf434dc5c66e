//! SQLite storage: WAL, foreign keys, migrations, refusal of a newer schema, group commit.

use crate::harness::{TestApp, test_config};

#[tokio::test]
async fn database_is_wal_with_foreign_keys_and_private() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn().await;
    let store = &app.app.state().store;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(store.reader()).await.expect("pragma");
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(store.reader()).await.expect("pragma");
    assert_eq!(fk, 1);
    assert_eq!(store.schema_version().await.expect("version"), parley::store::known_schema_version());
    let db_mode = std::fs::metadata(store.path()).expect("db file").permissions().mode() & 0o777;
    assert_eq!(db_mode, 0o600, "database readable by the service user only");
    let dir_mode = std::fs::metadata(app.dir.path()).expect("dir").permissions().mode() & 0o777;
    assert_eq!(dir_mode, 0o700);
    app.stop().await;
}

#[tokio::test]
async fn a_newer_schema_refuses_to_start() {
    let app = TestApp::spawn().await;
    let future = parley::store::known_schema_version() + 1;
    let sql = "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
               VALUES (?1, 'from the future', 1, x'00', 0)";
    app.execute(sql, vec![future.into()]).await;
    let dir = app.stop().await;
    let err = match parley::Application::build(test_config(dir.path())).await {
        Ok(_) => panic!("a newer schema must refuse to start"),
        Err(err) => err.to_string(),
    };
    assert!(err.contains("newer than this parley binary knows"), "{err}");
    assert!(err.contains(&future.to_string()), "{err}");
}

#[tokio::test]
async fn concurrent_writes_are_group_committed_and_all_acknowledged() {
    let app = TestApp::spawn().await;
    let store = app.app.state().store.clone();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .write(move |conn| {
                    Box::pin(async move {
                        sqlx::query("INSERT INTO meta (key, value) VALUES (?1, 'x')")
                            .bind(format!("k{i}"))
                            .execute(&mut *conn)
                            .await
                            .map(|_| ())
                    })
                })
                .await
        }));
    }
    for task in tasks {
        task.await.expect("join").expect("write acknowledged");
    }
    // A failing job is rolled back alone; the others in its batch still commit.
    let dup = store
        .write(|conn| {
            Box::pin(async move {
                sqlx::query("INSERT INTO meta (key, value) VALUES ('k1', 'dup')").execute(&mut *conn).await.map(|_| ())
            })
        })
        .await;
    assert!(dup.is_err(), "duplicate key fails");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM meta WHERE key LIKE 'k%'")
        .fetch_one(store.reader())
        .await
        .expect("count");
    assert_eq!(count, 200);
    let metrics = app.app.state().metrics.render();
    let commits: u64 = metric(&metrics, "parley_db_commit_seconds_count");
    let writes: u64 = metric(&metrics, "parley_db_writes_total");
    assert!(writes >= 200, "{writes}");
    assert!(commits < writes, "writes were grouped: {commits} commits for {writes} writes");
    app.stop().await;
}

#[tokio::test]
async fn readyz_proves_the_database_is_writable() {
    let app = TestApp::spawn().await;
    let ready = app.client.get(app.staff("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), 200);
    let stamp: String = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'ready_check'")
        .fetch_one(app.app.state().store.reader())
        .await
        .expect("readyz wrote its check row");
    assert!(stamp.parse::<i64>().is_ok());
    // Readiness must fail when the database is read-only.
    app.app
        .state()
        .store
        .write(|conn| {
            Box::pin(async move { sqlx::query("PRAGMA query_only = ON").execute(&mut *conn).await.map(|_| ()) })
        })
        .await
        .expect("set query_only");
    let not_ready = app.client.get(app.staff("/readyz")).send().await.expect("readyz");
    assert_eq!(not_ready.status(), 503);
    let body: serde_json::Value = not_ready.json().await.expect("json");
    assert_eq!(body["code"], "not_ready");
    app.stop().await;
}

pub fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or_else(|| panic!("{name} missing in {text}"))
}
