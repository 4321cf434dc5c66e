//! Reports from the access log for the DPO: who has accessed a data subject's data, and the
//! scope of a possible breach (which subjects a staff account or a time window touched). Both
//! read the audit log (views of one transcript or contact) and the access log (lists, searches,
//! dashboard frames).

use std::collections::BTreeMap;

use super::{AuditRow, Store, StoreError};

/// The subject ids an audit entry's target names ("subject 3", "subjects 3,4").
pub fn subjects_in(target: &str) -> Vec<i64> {
    let list = target.strip_prefix("subjects ").or_else(|| target.strip_prefix("subject ")).unwrap_or_default();
    list.split(',').filter_map(|id| id.trim().parse().ok()).collect()
}

/// One affected subject of a breach-scope report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Affected {
    pub subject: i64,
    /// Categories of data the subject has now: chats, offline_requests, mails.
    pub categories: Vec<&'static str>,
    /// Why they are in the report: viewed, searched, exported, chat handled, message received…
    pub reasons: Vec<String>,
}

impl Store {
    /// Every audit entry naming the subject, oldest first.
    pub async fn access_to_subject(&self, subject: i64) -> Result<Vec<AuditRow>, StoreError> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, at, actor, action, target, details FROM audit_log WHERE target LIKE 'subject%' ORDER BY id",
        )
        .fetch_all(self.reader())
        .await?;
        let mut rows: Vec<AuditRow> = rows
            .into_iter()
            .filter(|r| r.target.as_deref().is_some_and(|t| subjects_in(t).contains(&subject)))
            .collect();
        // Lists, searches and dashboard frames that showed the subject (the access log).
        rows.extend(self.views_of_subject(subject).await?.into_iter().map(|(id, at, actor, view)| AuditRow {
            id,
            at,
            actor,
            action: view,
            target: Some(format!("subject {subject}")),
            details: None,
        }));
        rows.sort_by_key(|r| r.at);
        Ok(rows)
    }

    /// Subjects whose data was accessed (per the access log) or handled in `[from, until)`,
    /// optionally only by the staff account `user`.
    pub async fn breach_scope(&self, from: i64, until: i64, user: Option<&str>) -> Result<Vec<Affected>, StoreError> {
        let mut reasons: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        let mut add = |subject: i64, why: String| {
            let list = reasons.entry(subject).or_default();
            if !list.contains(&why) {
                list.push(why);
            }
        };
        let entries: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT actor, action, target FROM audit_log
             WHERE at >= ?1 AND at < ?2 AND (?3 IS NULL OR actor = ?3) AND target LIKE 'subject%'",
        )
        .bind(from)
        .bind(until)
        .bind(user)
        .fetch_all(self.reader())
        .await?;
        for (actor, action, target) in entries {
            for subject in subjects_in(target.as_deref().unwrap_or_default()) {
                add(subject, format!("{action} by {actor}"));
            }
        }
        for (actor, view, subject) in self.views_between(from, until, user).await? {
            add(subject, format!("{view} by {actor}"));
        }
        // Chats handled by, and offline messages assigned to, the account (or anyone).
        let handled = [
            (
                "SELECT c.subject_id, u.username FROM conversations c LEFT JOIN staff_users u ON u.id = c.operator_id
                 WHERE c.subject_id IS NOT NULL AND c.created_at >= ?1 AND c.created_at < ?2
                   AND (?3 IS NULL OR u.username = ?3)",
                "chat handled",
                " by ",
            ),
            (
                "SELECT o.subject_id, u.username FROM offline_requests o LEFT JOIN staff_users u ON u.id = o.assigned_to
                 WHERE o.subject_id IS NOT NULL AND o.created_at >= ?1 AND o.created_at < ?2
                   AND (?3 IS NULL OR u.username = ?3)",
                "offline message",
                " assigned to ",
            ),
        ];
        for (sql, what, link) in handled {
            let rows: Vec<(i64, Option<String>)> =
                sqlx::query_as(sql).bind(from).bind(until).bind(user).fetch_all(self.reader()).await?;
            for (subject, staff) in rows {
                add(subject, format!("{what}{}", staff.map(|s| format!("{link}{s}")).unwrap_or_default()));
            }
        }
        let mut out = Vec::new();
        for (subject, reasons) in reasons {
            let mut categories = Vec::new();
            for (name, sql) in [
                ("chats", "SELECT COUNT(*) FROM conversations WHERE subject_id = ?1"),
                ("offline_requests", "SELECT COUNT(*) FROM offline_requests WHERE subject_id = ?1"),
                ("mails", "SELECT COUNT(*) FROM mail_outbox WHERE subject_id = ?1"),
            ] {
                let n: i64 = sqlx::query_scalar(sql).bind(subject).fetch_one(self.reader()).await?;
                if n > 0 {
                    categories.push(name);
                }
            }
            out.push(Affected { subject, categories, reasons });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::subjects_in;

    #[test]
    fn targets_name_subjects() {
        assert_eq!(subjects_in("subject 3"), [3]);
        assert_eq!(subjects_in("subjects 3,4,12"), [3, 4, 12]);
        assert!(subjects_in("none").is_empty());
        assert!(subjects_in("2026-12-25").is_empty());
    }
}
