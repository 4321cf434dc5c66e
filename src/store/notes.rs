//! Internal notes and canned responses.

use serde::Serialize;
use sqlx::FromRow;

use super::keys::sealer_of;
use super::{Store, StoreError, conflict_or};
use crate::util::now;

#[derive(Debug, Clone, FromRow)]
pub struct NoteRow {
    pub client_id: String,
    pub author_name: String,
    pub body: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct CannedRow {
    pub id: i64,
    pub owner_id: Option<i64>,
    pub shortcut: String,
    pub body: String,
}

impl Store {
    /// Stores a note once per client id; returns its creation time.
    pub async fn add_note(
        &self,
        conversation_id: i64,
        client_id: String,
        user_id: i64,
        name: String,
        body: String,
    ) -> Result<i64, StoreError> {
        let keyring = self.keyring()?;
        self.write(move |conn| {
            Box::pin(async move {
                let known: Option<i64> =
                    sqlx::query_scalar("SELECT created_at FROM notes WHERE conversation_id = ?1 AND client_id = ?2")
                        .bind(conversation_id)
                        .bind(&client_id)
                        .fetch_optional(&mut *conn)
                        .await?;
                if let Some(at) = known {
                    return Ok(at);
                }
                // Notes are about the visitor: sealed with the conversation's subject key.
                let subject: Option<i64> = sqlx::query_scalar("SELECT subject_id FROM conversations WHERE id = ?1")
                    .bind(conversation_id)
                    .fetch_one(&mut *conn)
                    .await?;
                let subject =
                    subject.ok_or_else(|| sqlx::Error::Protocol("conversation without a data subject".into()))?;
                let sealer = sealer_of(&mut *conn, &keyring, subject).await?;
                let id: i64 =
                    sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM notes").fetch_one(&mut *conn).await?;
                sqlx::query(
                    "INSERT INTO notes (id, conversation_id, client_id, author_user_id, author_name, body, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .bind(id)
                .bind(conversation_id)
                .bind(&client_id)
                .bind(user_id)
                .bind(name)
                .bind(sealer.seal("notes", "body", &id.to_string(), &body)?)
                .bind(now())
                .execute(&mut *conn)
                .await?;
                sqlx::query_scalar("SELECT created_at FROM notes WHERE conversation_id = ?1 AND client_id = ?2")
                    .bind(conversation_id)
                    .bind(client_id)
                    .fetch_one(&mut *conn)
                    .await
            })
        })
        .await
    }

    pub async fn notes(&self, conversation_id: i64) -> Result<Vec<NoteRow>, StoreError> {
        let rows: Vec<(i64, String, String, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT n.id, n.client_id, n.author_name, n.body, n.created_at, c.subject_id
             FROM notes n JOIN conversations c ON c.id = n.conversation_id
             WHERE n.conversation_id = ?1 ORDER BY n.id",
        )
        .bind(conversation_id)
        .fetch_all(self.reader())
        .await?;
        let mut notes = Vec::with_capacity(rows.len());
        for (id, client_id, author_name, body, created_at, subject) in rows {
            let body = match subject {
                Some(subject) => self.sealer(subject).await?.open("notes", "body", &id.to_string(), &body)?,
                None => body,
            };
            notes.push(NoteRow { client_id, author_name, body, created_at });
        }
        Ok(notes)
    }

    /// The user's own canned responses and the shared ones.
    pub async fn canned_for(&self, user_id: i64) -> Result<Vec<CannedRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, owner_id, shortcut, body FROM canned_responses
             WHERE owner_id IS NULL OR owner_id = ?1 ORDER BY shortcut, owner_id IS NULL",
        )
        .bind(user_id)
        .fetch_all(self.reader())
        .await?)
    }

    pub async fn add_canned(&self, owner_id: Option<i64>, shortcut: String, body: String) -> Result<i64, StoreError> {
        let what = format!("canned response /{shortcut}");
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query_scalar(
                    "INSERT INTO canned_responses (owner_id, shortcut, body, created_at) VALUES (?1, ?2, ?3, ?4) RETURNING id",
                )
                .bind(owner_id)
                .bind(shortcut)
                .bind(body)
                .bind(now())
                .fetch_one(&mut *conn)
                .await
            })
        })
        .await
        .map_err(|e| match e {
            StoreError::Sql(err) => conflict_or(err, &what),
            other => other,
        })
    }

    pub async fn canned(&self, id: i64) -> Result<Option<CannedRow>, StoreError> {
        Ok(sqlx::query_as("SELECT id, owner_id, shortcut, body FROM canned_responses WHERE id = ?1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?)
    }

    pub async fn delete_canned(&self, id: i64) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query("DELETE FROM canned_responses WHERE id = ?1").bind(id).execute(&mut *conn).await.map(|_| ())
            })
        })
        .await
    }

    /// Hands an active conversation to another operator; false when it is not active.
    pub async fn reassign_conversation(&self, id: i64, operator_id: i64) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query("UPDATE conversations SET operator_id = ?2 WHERE id = ?1 AND status = 'active'")
                    .bind(id)
                    .bind(operator_id)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
    }
}
