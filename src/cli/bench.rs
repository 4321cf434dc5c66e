//! `parley bench storage`: the durable insert rate of encrypted chat messages (each awaited until
//! its group commit is durable, as the websocket's ack is) next to the same append done in plain
//! text — same statements (duplicate check, next seq, insert), same table shape and indexes, same
//! writer — measured in the same run on a scratch database. The ratio is the cost of encryption.
//! `parley bench chat` and `login-flood` drive websocket clients (src/bench/).

use std::sync::Arc;
use std::time::Instant;

use clap::Subcommand;

use crate::bench::run::{ChatPlan, External, loopback_url};
use crate::config::Config;
use crate::crypto::KekFile;
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
    /// Chat load against a real server and a bare relay in the same run, with ratios and targets.
    #[command(after_help = CHAT_HELP)]
    Chat {
        #[command(flatten)]
        load: Load,
        /// Every second, this percentage of visitors drops its connection and resumes.
        #[arg(long, default_value_t = 0.0)]
        churn_percent: f64,
        /// Half-way through, every visitor is dropped at once and resumes.
        #[arg(long)]
        storm: bool,
        /// Measure a parley already running on loopback: its public listener (https://IP:PORT).
        #[arg(long, requires_all = ["staff_target", "data_dir", "server_pid"])]
        target: Option<String>,
        /// With --target: its staff listener.
        #[arg(long)]
        staff_target: Option<String>,
        /// With --target: its data directory (certificate; operator accounts are added to it).
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
        /// With --target: its process id, for RSS and CPU time.
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// Chat latency with and without a flood of wrong-password sign-ins (real argon2 cost).
    #[command(
        name = "login-flood",
        after_help = "Example:\n  parley bench login-flood --visitors 400 --operators 40 --rate 400 --duration 15 --concurrency 64"
    )]
    LoginFlood {
        #[command(flatten)]
        load: Load,
        /// Sign-in attempts in flight at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
    /// The flood of wrong-password sign-ins (started by `bench login-flood`, in its own process).
    #[command(name = "flood-clients", hide = true)]
    FloodClients {
        #[arg(long)]
        staff: std::net::SocketAddr,
        #[arg(long)]
        cert: std::path::PathBuf,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
    /// The bare relay the chat benchmark compares against (started by `bench chat`).
    #[command(hide = true)]
    Relay {
        #[arg(long)]
        listen: std::net::SocketAddr,
        #[arg(long)]
        cert: std::path::PathBuf,
        #[arg(long)]
        key: std::path::PathBuf,
    },
}

const CHAT_HELP: &str = "Examples:
  parley bench chat --visitors 10000 --operators 0 --rate 0 --duration 10      # idle memory
  parley bench chat --visitors 4500 --operators 500 --rate 20000 --duration 20 # throughput
  parley bench chat --visitors 1000 --operators 100 --rate 2000 --duration 20 --churn-percent 1
  parley bench chat --visitors 1000 --operators 100 --rate 2000 --duration 20 --storm

Starts `parley serve` as a child process on a scratch data directory (removed afterwards), then
the bare relay, and runs the same clients against each. With --rate 0 or --operators 0 visitors
only connect (idle). Each client sends at most 8 messages a second (the server allows 10).";

/// The load shared by `chat` and `login-flood`.
#[derive(clap::Args, Debug)]
pub struct Load {
    /// Visitor websockets, each with one chat (or idle, see --rate).
    #[arg(long, default_value_t = 1000)]
    visitors: usize,
    /// Operator websockets (10 per operator account); they join the chats and answer.
    #[arg(long, default_value_t = 100)]
    operators: usize,
    /// Messages per second sent in total, spread over all clients (0: idle).
    #[arg(long, default_value_t = 2000.0)]
    rate: f64,
    /// Seconds to measure (after setting up).
    #[arg(long, default_value_t = 20)]
    duration: u64,
}

impl Load {
    fn plan(&self, churn: f64, storm: bool) -> Result<ChatPlan, String> {
        if !(0.0..=100.0).contains(&churn) {
            return Err("--churn-percent is 0 to 100".into());
        }
        if !(1..=3600).contains(&self.duration) {
            return Err("--duration is 1 to 3600 seconds".into());
        }
        if !self.rate.is_finite() || self.rate < 0.0 {
            return Err("--rate is 0 or more messages a second".into());
        }
        Ok(ChatPlan {
            visitors: self.visitors,
            operators: self.operators,
            rate: self.rate,
            duration: std::time::Duration::from_secs(self.duration),
            churn,
            storm,
        })
    }
}

pub async fn run(command: BenchCommand) -> Result<(), String> {
    match command {
        BenchCommand::Storage { messages, concurrency } => storage(messages.max(1), concurrency.clamp(1, 4096)).await,
        BenchCommand::Chat { load, churn_percent, storm, target, staff_target, data_dir, server_pid } => {
            let plan = load.plan(churn_percent, storm)?;
            let external = match (target, staff_target, data_dir, server_pid) {
                (Some(public), Some(staff), Some(data_dir), Some(pid)) => Some(External {
                    public: loopback_url("--target", &public)?,
                    staff: loopback_url("--staff-target", &staff)?,
                    data_dir,
                    pid,
                }),
                _ => None,
            };
            crate::bench::run::chat(plan, external).await
        }
        BenchCommand::LoginFlood { load, concurrency } => {
            crate::bench::flood::login_flood(load.plan(0.0, false)?, concurrency.clamp(1, 1024)).await
        }
        BenchCommand::FloodClients { staff, cert, concurrency } => {
            crate::bench::flood::flood_clients(staff, &cert, concurrency.clamp(1, 1024)).await
        }
        BenchCommand::Relay { listen, cert, key } => crate::bench::relay::serve(listen, &cert, &key).await,
    }
}

const TEXT: &str = "Hello, I would like to ask about my council tax bill for this year, reference 1234567.";

async fn storage(messages: usize, concurrency: usize) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("parley-bench-{}-{}", std::process::id(), crate::util::now()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let result = measure(&dir, messages, concurrency).await;
    let _ = std::fs::remove_dir_all(&dir);
    let (encrypted, plain) = result?;
    say!(
        "durable message inserts, {messages} messages, {concurrency} writers at once (group commit, synchronous=FULL)"
    );
    say!("  encrypted (AES-256-GCM, per-subject key): {encrypted:>9.0} messages/s");
    say!("  plain (same append, no encryption):       {plain:>9.0} messages/s");
    say!("  ratio encrypted / plain:                  {:>9.2}", encrypted / plain);
    Ok(())
}

async fn measure(dir: &std::path::Path, messages: usize, concurrency: usize) -> Result<(f64, f64), String> {
    let err = |e: crate::store::StoreError| e.to_string();
    let config = Config::embedded().map_err(|e| e.to_string())?;
    let source = KekFile { path: dir.join("kek.key"), credential: false };
    let (store, _) =
        Store::open_with_keys(dir, &config.database, Metrics::default(), &source).await.map_err(|e| e.to_string())?;
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
            consent_purposes: Vec::new(),
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
