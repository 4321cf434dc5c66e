//! Internal notes and canned responses.

use serde::Serialize;
use sqlx::FromRow;

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
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO notes (conversation_id, client_id, author_user_id, author_name, body, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(conversation_id, client_id) DO NOTHING",
                )
                .bind(conversation_id)
                .bind(&client_id)
                .bind(user_id)
                .bind(name)
                .bind(body)
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
        Ok(sqlx::query_as(
            "SELECT client_id, author_name, body, created_at FROM notes WHERE conversation_id = ?1 ORDER BY id",
        )
        .bind(conversation_id)
        .fetch_all(self.reader())
        .await?)
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
