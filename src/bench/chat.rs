//! The chat load: visitor and operator clients speaking the real protocol (start, assigned/mine,
//! join, message, ack, resume), paced under the server's 10 frames/s per-connection limit, with
//! latency measured from a send timestamp carried in each message's text. The same clients run
//! against the server and the bare relay.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;

use super::client::{Ws, connect, loopback_source};
use super::stats::{Counters, Samples, micros_since};

/// Frames a client sends per second at most (the server allows 10, bursts of 20).
pub const MAX_CLIENT_RATE: f64 = 8.0;
/// Padding so a message is the size of a short real one (~100 bytes of text).
const PAD: &str = "Hello, I would like to ask about my council tax bill for this year please.";

/// Where the clients connect, and one `Cookie` value per operator account.
pub struct Target {
    pub connector: TlsConnector,
    pub public: SocketAddr,
    pub staff: SocketAddr,
    pub cookies: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phase {
    Setup,
    Run,
    Pause,
    Stop,
}

pub struct Shared {
    pub epoch: Instant,
    pub counters: Counters,
    pub deliveries: Samples,
    pub acks: Samples,
    /// (storm number, µs from the drop until `resumed`).
    pub recovery: Samples,
    pub error_codes: Mutex<HashMap<String, u64>>,
    target: Target,
    phase: watch::Receiver<Phase>,
    storm: watch::Receiver<u64>,
    storm_at: Mutex<Instant>,
    churn: f64,
    rate: f64,
}

impl Shared {
    fn error(&self, code: &str) {
        Counters::add(&self.counters.errors);
        if let Ok(mut codes) = self.error_codes.lock() {
            *codes.entry(code.to_owned()).or_insert(0) += 1;
        }
    }

    fn bench_text(&self) -> (u64, String) {
        let now = micros_since(self.epoch);
        (now, format!("bench {now} {PAD}"))
    }

    /// Records a delivered message event; false when it is a duplicate.
    fn delivered(&self, seen: &mut HashSet<i64>, frame: &Value) {
        let seq = frame["seq"].as_i64().unwrap_or(0);
        if !seen.insert(seq) {
            Counters::add(&self.counters.duplicates);
            return;
        }
        Counters::add(&self.counters.delivered);
        let text = frame["text"].as_str().unwrap_or_default();
        if let Some(sent) = text.strip_prefix("bench ").and_then(|t| t.split(' ').next()).and_then(|t| t.parse().ok()) {
            self.deliveries.record(sent, micros_since(self.epoch).saturating_sub(sent));
        }
    }

    fn acked(&self, sent_us: u64) {
        Counters::add(&self.counters.acked);
        self.acks.record(sent_us, micros_since(self.epoch).saturating_sub(sent_us));
    }
}

/// What one side saw of one conversation (for the loss and duplicate check).
pub struct Side {
    pub conversation: String,
    pub seen: HashSet<i64>,
}

fn period(rate: f64) -> Duration {
    Duration::from_secs_f64(1.0 / rate.max(0.001))
}

fn ticker(rate: f64) -> tokio::time::Interval {
    let period = period(rate);
    let offset = period.mul_f64(rand::random::<f64>());
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    tick
}

fn parse(message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>) -> Result<Option<Value>, ()> {
    match message {
        Some(Ok(Message::Text(text))) => Ok(serde_json::from_str(&text).ok()),
        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => Err(()),
        Some(Ok(_)) => Ok(None),
    }
}

async fn next_frame(ws: &mut Ws) -> Result<Value, ()> {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(60), ws.next()).await.map_err(|_| ())?;
        if let Some(frame) = parse(next)? {
            return Ok(frame);
        }
    }
}

struct Visitor {
    shared: Arc<Shared>,
    n: usize,
    conversation: String,
    token: String,
    seen: HashSet<i64>,
    /// Seqs received as message events since the last `resume`.
    events: HashSet<i64>,
    /// Unacknowledged messages by id: (sent at, text). Resent after a reconnect.
    pending: HashMap<String, (u64, String)>,
}

impl Visitor {
    fn handle(&mut self, frame: &Value) -> bool {
        match frame["type"].as_str().unwrap_or_default() {
            "message" => {
                // A replay after `resume` legitimately repeats events above `last_seq`; anything
                // else arriving twice as an event is a duplicate.
                let seq = frame["seq"].as_i64().unwrap_or(0);
                if !self.events.insert(seq) {
                    Counters::add(&self.shared.counters.duplicates);
                } else if !self.seen.contains(&seq) {
                    self.shared.delivered(&mut self.seen, frame);
                }
            }
            "ack" => {
                if let Some((sent, _)) = frame["id"].as_str().and_then(|id| self.pending.remove(id)) {
                    self.shared.acked(sent);
                }
                self.seen.insert(frame["seq"].as_i64().unwrap_or(0));
            }
            "error" => self.shared.error(frame["code"].as_str().unwrap_or("error")),
            "resumed" => return true,
            _ => {}
        }
        false
    }

    async fn send(&mut self, ws: &mut Ws) -> bool {
        let id = uuid::Uuid::new_v4().to_string();
        let (sent, text) = self.shared.bench_text();
        let frame = json!({ "v": 1, "type": "message", "id": id, "text": text }).to_string();
        self.pending.insert(id, (sent, text));
        Counters::add(&self.shared.counters.sent);
        ws.send(Message::text(frame)).await.is_ok()
    }

    /// Drops the connection (no close frame, as a lost network would), connects again,
    /// resumes from the highest seq seen and resends what was not acknowledged.
    async fn reconnect(&mut self, old: Ws) -> Option<Ws> {
        drop(old);
        let dropped = Instant::now();
        let storm = *self.shared.storm.borrow();
        let deadline = dropped + Duration::from_secs(60);
        let target = &self.shared.target;
        let mut ws = loop {
            match open_visitor(target, self.n).await {
                Some(ws) => break ws,
                None if Instant::now() > deadline => {
                    self.shared.error("reconnect_failed");
                    return None;
                }
                None => tokio::time::sleep(Duration::from_millis(50 + rand::random::<u64>() % 200)).await,
            }
        };
        // The highest seq up to which nothing is missing: an ack can overtake an event that was
        // still queued for this connection, so the highest seq seen may sit above a gap.
        let last_seq = (0..).find(|n| !self.seen.contains(&(n + 1))).unwrap_or(0);
        self.events.retain(|seq| *seq <= last_seq);
        let resume = json!({ "v": 1, "type": "resume", "conversation": self.conversation, "token": self.token,
                             "last_seq": last_seq });
        ws.send(Message::text(resume.to_string())).await.ok()?;
        loop {
            let frame = next_frame(&mut ws).await.ok()?;
            if self.handle(&frame) {
                break;
            }
        }
        Counters::add(&self.shared.counters.resumed);
        let from_storm = self.shared.storm_at.lock().map(|at| *at).unwrap_or(dropped);
        self.shared.recovery.record(storm, from_storm.min(dropped).elapsed().as_micros() as u64);
        let pending: Vec<(String, String)> = self.pending.iter().map(|(id, (_, t))| (id.clone(), t.clone())).collect();
        for (id, text) in pending {
            let frame = json!({ "v": 1, "type": "message", "id": id, "text": text }).to_string();
            ws.send(Message::text(frame)).await.ok()?;
        }
        Some(ws)
    }
}

/// Connects visitor `n` (from its own loopback address) and reads the `hello`.
async fn open_visitor(target: &Target, n: usize) -> Option<Ws> {
    let mut ws = connect(&target.connector, target.public, Some(loopback_source(n)), "/ws/visitor", None).await.ok()?;
    next_frame(&mut ws).await.ok()?;
    Some(ws)
}

async fn visitor(shared: Arc<Shared>, n: usize, permits: Arc<Semaphore>, idle: bool) -> Vec<Side> {
    let permit = permits.acquire().await;
    let mut ws = match open_visitor(&shared.target, n).await {
        Some(ws) => ws,
        None => {
            shared.error("connect_failed");
            return Vec::new();
        }
    };
    Counters::add(&shared.counters.connected);
    let mut phase = shared.phase.clone();
    if idle {
        drop(permit);
        loop {
            tokio::select! {
                changed = phase.changed() => if changed.is_err() || *phase.borrow() == Phase::Stop { return Vec::new() },
                next = ws.next() => if parse(next).is_err() { return Vec::new() },
            }
        }
    }
    let start = json!({ "v": 1, "type": "start", "id": uuid::Uuid::new_v4(), "site": "main",
                        "name": format!("Visitor {n}"), "question": "A question for the benchmark" });
    let mut me = Visitor {
        shared: Arc::clone(&shared),
        n,
        conversation: String::new(),
        token: String::new(),
        seen: HashSet::from([1]),
        events: HashSet::new(),
        pending: HashMap::new(),
    };
    if ws.send(Message::text(start.to_string())).await.is_err() {
        shared.error("start_failed");
        return Vec::new();
    }
    loop {
        let Ok(frame) = next_frame(&mut ws).await else {
            shared.error("start_failed");
            return Vec::new();
        };
        match frame["type"].as_str() {
            Some("started") => {
                me.conversation = frame["conversation"].as_str().unwrap_or_default().to_owned();
                me.token = frame["token"].as_str().unwrap_or_default().to_owned();
                break;
            }
            Some("error") => {
                shared.error(frame["code"].as_str().unwrap_or("error"));
                return Vec::new();
            }
            _ => {}
        }
    }
    Counters::add(&shared.counters.started);
    drop(permit);
    let mut send = ticker(shared.rate);
    let mut churn = tokio::time::interval(Duration::from_secs(1));
    let mut storm = shared.storm.clone();
    let mut sending = false;
    loop {
        let mut lost = false;
        tokio::select! {
            changed = phase.changed() => {
                let now = if changed.is_err() { Phase::Stop } else { *phase.borrow() };
                if now == Phase::Stop { break }
                sending = now == Phase::Run && shared.rate > 0.0;
                // A fresh random phase, so the ticks missed while paused do not fire at once.
                send = ticker(shared.rate);
            }
            _ = send.tick(), if sending => lost = !me.send(&mut ws).await,
            _ = storm.changed() => lost = true,
            _ = churn.tick(), if sending && shared.churn > 0.0 => lost = rand::random::<f64>() * 100.0 < shared.churn,
            next = ws.next() => match parse(next) {
                Ok(Some(frame)) => { me.handle(&frame); }
                Ok(None) => {}
                Err(()) => lost = true,
            },
        }
        if lost {
            match me.reconnect(ws).await {
                Some(fresh) => ws = fresh,
                None => return vec![Side { conversation: me.conversation, seen: me.seen }],
            }
        }
    }
    vec![Side { conversation: me.conversation, seen: me.seen }]
}

/// Operator socket `index` of `of` for its account: it joins the account's conversations
/// that hash to it (from `assigned`, or `mine` when it connects after they started).
async fn operator(shared: Arc<Shared>, user: usize, index: usize, of: usize) -> Vec<Side> {
    let target = &shared.target;
    let cookie = target.cookies.get(user).cloned().unwrap_or_default();
    let mut ws = match connect(&target.connector, target.staff, None, "/ws/staff", Some(&cookie)).await {
        Ok(ws) => ws,
        Err(_) => {
            shared.error("connect_failed");
            return Vec::new();
        }
    };
    Counters::add(&shared.counters.connected);
    let mine =
        |c: &str| c.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))) as usize % of == index;
    let mut joins: Vec<String> = Vec::new();
    let mut sides: HashMap<String, HashSet<i64>> = HashMap::new();
    let mut joined: Vec<String> = Vec::new();
    let mut pending: HashMap<String, (u64, String)> = HashMap::new();
    let mut phase = shared.phase.clone();
    let mut join_tick = ticker(MAX_CLIENT_RATE);
    let mut send = ticker(shared.rate);
    let (mut sending, mut next_conversation) = (false, 0usize);
    loop {
        tokio::select! {
            changed = phase.changed() => {
                let now = if changed.is_err() { Phase::Stop } else { *phase.borrow() };
                if now == Phase::Stop { break }
                sending = now == Phase::Run && shared.rate > 0.0;
                // A fresh random phase, so the ticks missed while paused do not fire at once.
                send = ticker(shared.rate);
            }
            _ = join_tick.tick(), if !joins.is_empty() => {
                let conversation = joins.remove(0);
                let join = json!({ "v": 1, "type": "join", "conversation": conversation, "last_seq": 0 });
                if ws.send(Message::text(join.to_string())).await.is_err() { break }
            }
            _ = send.tick(), if sending && !joined.is_empty() => {
                next_conversation = (next_conversation + 1) % joined.len();
                let id = uuid::Uuid::new_v4().to_string();
                let (sent, text) = shared.bench_text();
                let frame = json!({ "v": 1, "type": "message", "id": id, "conversation": joined[next_conversation],
                                    "text": text });
                pending.insert(id, (sent, joined[next_conversation].clone()));
                Counters::add(&shared.counters.sent);
                if ws.send(Message::text(frame.to_string())).await.is_err() { break }
            }
            next = ws.next() => match parse(next) {
                Ok(Some(frame)) => match frame["type"].as_str().unwrap_or_default() {
                    "assigned" => {
                        let c = frame["conversation"].as_str().unwrap_or_default();
                        if mine(c) && !sides.contains_key(c) && !joins.iter().any(|j| j == c) { joins.push(c.to_owned()) }
                    }
                    "mine" => {
                        for entry in frame["conversations"].as_array().into_iter().flatten() {
                            let c = entry["conversation"].as_str().unwrap_or_default();
                            if mine(c) && !joins.iter().any(|j| j == c) { joins.push(c.to_owned()) }
                        }
                    }
                    "visitor" => {
                        let c = frame["conversation"].as_str().unwrap_or_default().to_owned();
                        if !sides.contains_key(&c) {
                            sides.insert(c.clone(), HashSet::new());
                            joined.push(c);
                            Counters::add(&shared.counters.joined);
                        }
                    }
                    "message" => {
                        let c = frame["conversation"].as_str().unwrap_or_default();
                        if let Some(seen) = sides.get_mut(c) { shared.delivered(seen, &frame) }
                    }
                    "ack" => {
                        if let Some((sent, c)) = frame["id"].as_str().and_then(|id| pending.remove(id)) {
                            shared.acked(sent);
                            if let Some(seen) = sides.get_mut(&c) { seen.insert(frame["seq"].as_i64().unwrap_or(0)); }
                        }
                    }
                    "error" => shared.error(frame["code"].as_str().unwrap_or("error")),
                    _ => {}
                },
                Ok(None) => {}
                Err(()) => { shared.error("operator_disconnected"); break }
            },
        }
    }
    sides.into_iter().map(|(conversation, seen)| Side { conversation, seen }).collect()
}

/// One measured period.
pub struct Window {
    pub seconds: f64,
    pub sent: u64,
    pub acked: u64,
    /// Latencies (µs, sorted) of messages sent in the window and delivered.
    pub deliveries: Vec<u32>,
    pub acks: Vec<u32>,
    /// Visitors back after the storm, and the slowest recovery in seconds.
    pub storm: Option<(usize, f64)>,
}

pub struct Scenario {
    pub shared: Arc<Shared>,
    phase: watch::Sender<Phase>,
    storm: watch::Sender<u64>,
    tasks: JoinSet<Vec<Side>>,
    pub visitors: usize,
    pub operators: usize,
}

async fn wait_for(what: &str, limit: Duration, done: impl Fn() -> bool) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() > deadline {
            return Err(format!("timed out after {} s waiting for {what}", limit.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

impl Scenario {
    /// Connects the clients and sets up one conversation per visitor, each joined by one
    /// operator socket. `idle`: visitors only connect (for the memory figure).
    pub async fn setup(
        target: Target,
        visitors: usize,
        operators: usize,
        rate: f64,
        churn: f64,
        idle: bool,
    ) -> Result<Scenario, String> {
        let (phase, phase_rx) = watch::channel(Phase::Setup);
        let (storm, storm_rx) = watch::channel(0u64);
        let accounts = target.cookies.len().max(1);
        let shared = Arc::new(Shared {
            epoch: Instant::now(),
            counters: Counters::default(),
            deliveries: Samples::default(),
            acks: Samples::default(),
            recovery: Samples::default(),
            error_codes: Mutex::default(),
            target,
            phase: phase_rx,
            storm: storm_rx,
            storm_at: Mutex::new(Instant::now()),
            churn,
            rate: rate / (visitors + operators).max(1) as f64,
        });
        let mut tasks = JoinSet::new();
        let c = &shared.counters;
        // First one socket per account, so chats can start and be routed...
        let primaries = if idle { 0 } else { operators.min(accounts) };
        let share = |i: usize| {
            (i % accounts, i / accounts, operators / accounts + usize::from(i % accounts < operators % accounts))
        };
        for i in 0..primaries {
            let (user, index, of) = share(i);
            tasks.spawn(operator(Arc::clone(&shared), user, index, of));
        }
        wait_for("operators to connect", Duration::from_secs(60), || Counters::get(&c.connected) >= primaries as u64)
            .await?;
        // ...then the visitors, each starting one chat...
        let permits = Arc::new(Semaphore::new(128));
        for n in 0..visitors {
            tasks.spawn(visitor(Arc::clone(&shared), n, Arc::clone(&permits), idle));
        }
        let limit = Duration::from_secs(120 + visitors as u64 / 20);
        let settled = |counter: &std::sync::atomic::AtomicU64| {
            Counters::get(counter) + Counters::get(&c.errors) >= (visitors + primaries) as u64
        };
        if idle {
            wait_for("visitors to connect", limit, || settled(&c.connected)).await?;
        } else {
            wait_for("visitors to start chats", limit, || {
                Counters::get(&c.started) + Counters::get(&c.errors) >= visitors as u64
            })
            .await?;
            // ...then the other operator sockets, which learn their chats from `mine`.
            for i in primaries..operators {
                let (user, index, of) = share(i);
                tasks.spawn(operator(Arc::clone(&shared), user, index, of));
            }
            let started = Counters::get(&c.started);
            wait_for("operators to join every chat", limit, || Counters::get(&c.joined) >= started).await?;
        }
        Ok(Scenario { shared, phase, storm, tasks, visitors, operators })
    }

    /// Sends at the planned rate for `duration`; with `storm`, every visitor is dropped at once
    /// half-way and resumes. Then waits (up to 90 s) for outstanding acks and deliveries.
    pub async fn window(&self, duration: Duration, storm: bool) -> Window {
        let c = &self.shared.counters;
        let (sent0, acked0) = (Counters::get(&c.sent), Counters::get(&c.acked));
        let from = micros_since(self.shared.epoch);
        let _ = self.phase.send(Phase::Run);
        let mut storm_result = None;
        if storm {
            tokio::time::sleep(duration / 2).await;
            let resumed = Counters::get(&c.resumed);
            if let Ok(mut at) = self.shared.storm_at.lock() {
                *at = Instant::now();
            }
            self.storm.send_modify(|n| *n += 1);
            let number = *self.storm.borrow();
            let _ = wait_for("the storm", Duration::from_secs(60), || {
                Counters::get(&c.resumed) >= resumed + self.visitors as u64
            })
            .await;
            tokio::time::sleep(duration / 2).await;
            let back = self.shared.recovery.window(number, number + 1);
            storm_result = Some((back.len(), back.last().map_or(0.0, |l| f64::from(*l) / 1e6)));
        } else {
            tokio::time::sleep(duration).await;
        }
        let to = micros_since(self.shared.epoch);
        let _ = self.phase.send(Phase::Pause);
        // Drain: every ack, then deliveries until they stop arriving (a backlog can take a while).
        let _ = wait_for("acks", Duration::from_secs(90), || Counters::get(&c.acked) >= Counters::get(&c.sent)).await;
        let mut delivered = u64::MAX;
        for _ in 0..90 {
            if Counters::get(&c.delivered) == delivered {
                break;
            }
            delivered = Counters::get(&c.delivered);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        Window {
            seconds: (to - from) as f64 / 1e6,
            sent: Counters::get(&c.sent) - sent0,
            acked: Counters::get(&c.acked) - acked0,
            deliveries: self.shared.deliveries.window(from, to),
            acks: self.shared.acks.window(from, to),
            storm: storm_result,
        }
    }

    /// Stops the clients; returns (messages lost, conversations checked): every seq from 1 to
    /// the highest either side saw must be known to both sides.
    pub async fn finish(mut self) -> (u64, usize) {
        let _ = self.phase.send(Phase::Stop);
        let mut by_conversation: HashMap<String, Vec<HashSet<i64>>> = HashMap::new();
        while let Some(done) = self.tasks.join_next().await {
            for side in done.unwrap_or_default() {
                by_conversation.entry(side.conversation).or_default().push(side.seen);
            }
        }
        let mut lost = 0u64;
        for sides in by_conversation.values() {
            let highest = sides.iter().flat_map(|s| s.iter().copied()).max().unwrap_or(0);
            for seen in sides {
                lost += (1..=highest).filter(|seq| !seen.contains(seq)).count() as u64;
            }
        }
        (lost, by_conversation.len())
    }
}
