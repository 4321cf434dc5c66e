//! One-time sealing of rows written before encryption at rest existed (their `subject_id` is
//! NULL): each gets a data subject and its personal fields are encrypted in place, one row per
//! transaction, so an interrupted run simply continues at the next start.

use sqlx::SqliteConnection;

use super::keys::{Sealer, new_subject, subject_for};
use super::{Store, StoreError};
use crate::crypto::{IndexKind, Keyring};

type LegacyConversation = (i64, String, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>);

async fn seal_conversation(conn: &mut SqliteConnection, keyring: &Keyring, id: i64) -> Result<(), sqlx::Error> {
    let row: Option<LegacyConversation> = sqlx::query_as(
        "SELECT id, visitor_name, page_url, referrer, answers, rating_comment, visitor_key
         FROM conversations WHERE id = ?1 AND subject_id IS NULL",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, name, page, referrer, answers, comment, visitor_key)) = row else { return Ok(()) };
    let mut identifying = vec![(IndexKind::Name, name.clone())];
    if let Some(key) = &visitor_key {
        identifying.push((IndexKind::Visitor, key.clone()));
    }
    let (subject, sealer) = subject_for(conn, keyring, &identifying).await?;
    let r = id.to_string();
    let seal = |column: &str, value: Option<&str>| sealer.seal_opt("conversations", column, &r, value);
    sqlx::query(
        "UPDATE conversations SET visitor_name = ?2, page_url = ?3, referrer = ?4, answers = ?5, rating_comment = ?6,
                visitor_key = ?7, subject_id = ?8 WHERE id = ?1",
    )
    .bind(id)
    .bind(sealer.seal("conversations", "visitor_name", &r, &name)?)
    .bind(seal("page_url", page.as_deref())?)
    .bind(seal("referrer", referrer.as_deref())?)
    .bind(seal("answers", answers.as_deref())?)
    .bind(seal("rating_comment", comment.as_deref())?)
    .bind(visitor_key.as_deref().map(|k| hex::encode(keyring.blind(IndexKind::Visitor, k))))
    .bind(subject)
    .execute(&mut *conn)
    .await?;
    let messages: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT seq, author_name, body FROM messages WHERE conversation_id = ?1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    for (seq, author, body) in messages {
        let row = format!("{id}:{seq}");
        sqlx::query("UPDATE messages SET author_name = ?3, body = ?4 WHERE conversation_id = ?1 AND seq = ?2")
            .bind(id)
            .bind(seq)
            .bind(sealer.seal("messages", "author_name", &row, &author)?)
            .bind(sealer.seal("messages", "body", &row, &body)?)
            .execute(&mut *conn)
            .await?;
    }
    let notes: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, body FROM notes WHERE conversation_id = ?1").bind(id).fetch_all(&mut *conn).await?;
    for (note, body) in notes {
        sqlx::query("UPDATE notes SET body = ?2 WHERE id = ?1")
            .bind(note)
            .bind(sealer.seal("notes", "body", &note.to_string(), &body)?)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn seal_offline(conn: &mut SqliteConnection, keyring: &Keyring, id: i64) -> Result<(), sqlx::Error> {
    let row: Option<(String, String, String)> =
        sqlx::query_as("SELECT name, email, body FROM offline_requests WHERE id = ?1 AND subject_id IS NULL")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((name, email, body)) = row else { return Ok(()) };
    let identifying = [(IndexKind::Email, email.clone()), (IndexKind::Name, name.clone())];
    let (subject, sealer) = subject_for(conn, keyring, &identifying).await?;
    let r = id.to_string();
    sqlx::query("UPDATE offline_requests SET name = ?2, email = ?3, body = ?4, subject_id = ?5 WHERE id = ?1")
        .bind(id)
        .bind(sealer.seal("offline_requests", "name", &r, &name)?)
        .bind(sealer.seal("offline_requests", "email", &r, &email)?)
        .bind(sealer.seal("offline_requests", "body", &r, &body)?)
        .bind(subject)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn seal_mail(conn: &mut SqliteConnection, keyring: &Keyring, id: i64) -> Result<(), sqlx::Error> {
    let row: Option<(String, String, String)> =
        sqlx::query_as("SELECT to_addr, subject, body FROM mail_outbox WHERE id = ?1 AND subject_id IS NULL")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((to, subject_line, body)) = row else { return Ok(()) };
    let (subject, sealer): (i64, Sealer) = match super::keys::find_subject(conn, keyring, IndexKind::Email, &to).await?
    {
        Some(known) => (known, super::keys::sealer_of(&mut *conn, keyring, known).await?),
        None => new_subject(conn, keyring).await?,
    };
    let r = id.to_string();
    sqlx::query("UPDATE mail_outbox SET to_addr = ?2, subject = ?3, body = ?4, subject_id = ?5 WHERE id = ?1")
        .bind(id)
        .bind(sealer.seal("mail_outbox", "to_addr", &r, &to)?)
        .bind(sealer.seal("mail_outbox", "subject", &r, &subject_line)?)
        .bind(sealer.seal("mail_outbox", "body", &r, &body)?)
        .bind(subject)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Seals every row still in plain text; returns how many rows were sealed.
pub async fn seal_legacy_rows(store: &Store) -> Result<u64, StoreError> {
    let keyring = store.keyring()?;
    let mut sealed = 0;
    for (table, sql) in [
        ("conversations", "SELECT id FROM conversations WHERE subject_id IS NULL ORDER BY id"),
        ("offline_requests", "SELECT id FROM offline_requests WHERE subject_id IS NULL ORDER BY id"),
        ("mail_outbox", "SELECT id FROM mail_outbox WHERE subject_id IS NULL ORDER BY id"),
    ] {
        let ids: Vec<i64> = sqlx::query_scalar(sql).fetch_all(store.reader()).await?;
        for id in ids {
            let keyring = keyring.clone();
            store
                .write(move |conn| {
                    Box::pin(async move {
                        match table {
                            "conversations" => seal_conversation(conn, &keyring, id).await,
                            "offline_requests" => seal_offline(conn, &keyring, id).await,
                            _ => seal_mail(conn, &keyring, id).await,
                        }
                    })
                })
                .await?;
            sealed += 1;
        }
    }
    if sealed > 0 {
        tracing::info!(rows = sealed, "sealed personal data written before encryption at rest");
    }
    Ok(sealed)
}
