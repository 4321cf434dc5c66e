//! Disk growth per 1,000 chats, the figure in docs/operations.md ("Disk growth"). A measurement
//! more than a check, so it is ignored by default:
//! `cargo test --release --test it -- --ignored footprint --nocapture`.

use serde_json::json;

use crate::chat_support::{accept, operator, send, start, until, uuid, visitor};
use crate::harness::TestApp;

const CHATS: usize = 1000;
/// Messages each side sends in a chat (so 2 × this per chat), about 70 characters each.
const TURNS: usize = 5;
/// Operators taking the chats in turn.
const OPERATORS: usize = 40;

/// Runs `chats` chats on a fresh server, stops it, and returns the bytes of the database and
/// any write-ahead log left.
async fn stored_bytes(chats: usize) -> u64 {
    let app = TestApp::spawn().await;
    // Each chat takes an operator 7 frames; taking turns keeps each under 10 frames a second.
    let mut operators = Vec::new();
    for n in 0..OPERATORS {
        operators.push(operator(&app, &format!("measure{n}")).await);
    }
    for chat in 0..chats {
        let staff = &mut operators[chat % OPERATORS];
        let mut ws = visitor(&app).await;
        let (conversation, _) = start(&mut ws, &format!("Visitor {chat}")).await;
        accept(staff, &conversation).await;
        for turn in 0..TURNS {
            let text = format!("Question {turn}: when is the next green bin collection on my street?");
            send(&mut ws, json!({ "v": 1, "type": "message", "id": uuid(), "text": text })).await;
            until(&mut ws, "ack").await;
            let reply = format!("Answer {turn}: green bins are collected every other Tuesday from 7am.");
            let frame = json!({ "v": 1, "type": "message", "id": uuid(), "conversation": conversation, "text": reply });
            send(staff, frame).await;
            until(staff, "ack").await;
        }
        send(staff, json!({ "v": 1, "type": "close", "conversation": conversation })).await;
        until(staff, "closed").await;
    }
    drop(operators);
    let dir = app.stop().await;
    ["parley.db", "parley.db-wal"]
        .iter()
        .filter_map(|name| std::fs::metadata(dir.path().join(name)).ok())
        .map(|meta| meta.len())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: about a minute; run with --ignored"]
async fn disk_growth_per_1000_chats() {
    let empty = stored_bytes(0).await;
    let full = stored_bytes(CHATS).await;
    let growth = full.saturating_sub(empty);
    println!(
        "disk growth: {:.1} MiB for {CHATS} chats of {} messages ({:.1} KiB a chat; {empty} → {full} bytes)",
        growth as f64 / 1_048_576.0,
        2 * TURNS,
        growth as f64 / 1024.0 / CHATS as f64,
    );
    assert!(growth > 0, "the chats were stored");
    assert!(growth < 64 * 1_048_576, "more than 64 MiB for {CHATS} chats: {growth} bytes");
}
