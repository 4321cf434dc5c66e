//! `parley bench storage`: the durable insert rate of encrypted chat messages (each awaited until
//! its group commit is durable, as the websocket's ack is) next to the same append done in plain
//! text — same statements (duplicate check, next seq, insert), same table shape and indexes, same
//! writer — measured in the same run on a scratch database. The ratio is the cost of encryption.

use std::sync::Arc;
use std::time::Instant;

use clap::Subcommand;

use crate::config::Config;
use crate::crypto::{KekFile, load_keyring};
use crate::store::{NewConversation, NewMessage, Store};
use crate::telemetry::Metrics;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Encrypted vs plain durable message inserts on a scratch database in the temp directory.
    #[command(after_help = "Example:\n  parley bench storage --messages 20000 --concurrency 64")]
    Storage {
        /// Messages to write in each of the two runs.
        #[arg(long, default_value_t = 20_000)]
        messages: usize,
        /// Writers at once (like chats sending at the same time).
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
}

pub async fn run(command: BenchCommand) -> Result<(), String> {
    match command {
        BenchCommand::Storage { messages, concurrency } => storage(messages.max(1), concurrency.clamp(1, 4096)).await,
    }
}

const TEXT: &str = "Hello, I would like to ask about my council tax bill for this year, reference 1234567.";

async fn storage(messages: usize, concurrency: usize) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("parley-bench-{}-{}", std::process::id(), crate::util::now()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let result = measure(&dir, messages, concurrency).await;
    let _ = std::fs::remove_dir_all(&dir);
    let (encrypted, plain) = result?;
    println!(
        "durable message inserts, {messages} messages, {concurrency} writers at once (group commit, synchronous=FULL)"
    );
    println!("  encrypted (AES-256-GCM, per-subject key): {encrypted:>9.0} messages/s");
    println!("  plain (same append, no encryption):       {plain:>9.0} messages/s");
    println!("  ratio encrypted / plain:                  {:>9.2}", encrypted / plain);
    Ok(())
}

async fn measure(dir: &std::path::Path, messages: usize, concurrency: usize) -> Result<(f64, f64), String> {
    let err = |e: crate::store::StoreError| e.to_string();
    let config = Config::embedded().map_err(|e| e.to_string())?;
    let store = Store::open(dir, &config.database, Metrics::default()).await.map_err(err)?;
    let source = KekFile { path: dir.join("kek.key"), credential: false };
    load_keyring(&store, &source).await.map_err(|e| e.to_string())?;
    // One conversation per writer, as many chats would have.
    let mut conversations = Vec::with_capacity(concurrency);
    for i in 0..concurrency {
        let id = uuid::Uuid::new_v4().to_string();
        let new = NewConversation {
            public_id: uuid::Uuid::new_v4().to_string(),
            start_client_id: id,
            visitor_token_hash: vec![0; 32],
            site: "bench".into(),
            visitor_name: format!("Visitor {i}"),
            question: TEXT.into(),
            page_url: None,
            referrer: None,
            visitor_key: None,
            answers: None,
            department_id: None,
            contacts: Vec::new(),
            consent_notice: None,
            ip: None,
        };
        conversations.push(store.start_conversation(new).await.map_err(err)?.0);
    }
    store
        .write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "CREATE TABLE bench_conversations (id INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL DEFAULT 0,
                                                       status TEXT NOT NULL DEFAULT 'active')",
                )
                .execute(&mut *conn)
                .await?;
                sqlx::query(
                    "CREATE TABLE bench_messages (conversation_id INTEGER NOT NULL, seq INTEGER NOT NULL,
                        client_id TEXT NOT NULL, author TEXT NOT NULL, author_name TEXT NOT NULL, body TEXT NOT NULL,
                        created_at INTEGER NOT NULL, PRIMARY KEY (conversation_id, seq), UNIQUE (conversation_id, client_id))
                     STRICT, WITHOUT ROWID",
                )
                .execute(&mut *conn)
                .await?;
                sqlx::query(
                    "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
                     INSERT INTO bench_conversations (id) SELECT i FROM n",
                )
                .bind(concurrency as i64)
                .execute(&mut *conn)
                .await
                .map(|_| ())
            })
        })
        .await
        .map_err(err)?;
    let store = Arc::new(store);
    let per_writer = messages.div_ceil(concurrency);
    let encrypted = timed(
        messages,
        concurrency,
        |w, n| {
            let store = Arc::clone(&store);
            let conversation = conversations[w];
            async move {
                store
                    .append_message(NewMessage {
                        conversation_id: conversation,
                        client_id: uuid::Uuid::new_v4().to_string(),
                        author: "visitor",
                        author_user_id: None,
                        author_name: format!("Visitor {w}"),
                        body: format!("{TEXT} ({n})"),
                    })
                    .await
                    .map(|_| ())
            }
        },
        per_writer,
    )
    .await
    .map_err(err)?;
    let plain = timed(
        messages,
        concurrency,
        |w, n| {
            let store = Arc::clone(&store);
            let client_id = uuid::Uuid::new_v4().to_string();
            async move {
                store
                    .write(move |conn| {
                        Box::pin(async move {
                            let known: Option<i64> = sqlx::query_scalar(
                                "SELECT seq FROM bench_messages WHERE conversation_id = ?1 AND client_id = ?2",
                            )
                            .bind(w as i64)
                            .bind(&client_id)
                            .fetch_optional(&mut *conn)
                            .await?;
                            if known.is_some() {
                                return Ok(());
                            }
                            let seq: i64 = sqlx::query_scalar(
                                "UPDATE bench_conversations SET last_seq = last_seq + 1
                                 WHERE id = ?1 AND status != 'closed' RETURNING last_seq",
                            )
                            .bind(w as i64)
                            .fetch_one(&mut *conn)
                            .await?;
                            sqlx::query(
                                "INSERT INTO bench_messages (conversation_id, seq, client_id, author, author_name, body,
                                                             created_at)
                                 VALUES (?1, ?2, ?3, 'visitor', ?4, ?5, ?6)",
                            )
                            .bind(w as i64)
                            .bind(seq)
                            .bind(client_id)
                            .bind(format!("Visitor {w}"))
                            .bind(format!("{TEXT} ({n})"))
                            .bind(crate::util::now())
                            .execute(&mut *conn)
                            .await
                            .map(|_| ())
                        })
                    })
                    .await
            }
        },
        per_writer,
    )
    .await
    .map_err(err)?;
    store.close().await;
    Ok((encrypted, plain))
}

/// Runs `concurrency` writers, each awaiting `per_writer` inserts one after another; returns
/// inserts per second.
async fn timed<F, Fut>(
    messages: usize,
    concurrency: usize,
    insert: F,
    per_writer: usize,
) -> Result<f64, crate::store::StoreError>
where
    F: Fn(usize, usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), crate::store::StoreError>> + Send + 'static,
{
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..concurrency {
        // The first writers take one more when the messages do not divide evenly.
        let count = messages / concurrency + usize::from(w < messages % concurrency);
        let jobs: Vec<Fut> = (0..count.min(per_writer)).map(|n| insert(w, n)).collect();
        tasks.spawn(async move {
            for job in jobs {
                job.await?;
            }
            Ok::<(), crate::store::StoreError>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| crate::store::StoreError::Commit(e.to_string()))??;
    }
    Ok(messages as f64 / started.elapsed().as_secs_f64())
}
