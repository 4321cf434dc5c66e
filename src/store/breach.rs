//! Reports from the access log for the DPO: who has accessed a data subject's data, and the
//! scope of a possible breach (which subjects a staff account or a time window touched). Both
//! read the audit log (views of one transcript or contact) and the access log (lists, searches,
//! dashboard frames).

use std::collections::{BTreeMap, HashMap};

use super::audit::PUBLIC_ID_HEX;
use super::{AuditRow, Store, StoreError};

/// The subjects an audit entry's target names ("subject 3f…", "subjects 3f…,a1…"): public ids,
/// or row ids in entries written before subjects had public ids.
pub fn subjects_in(target: &str) -> Vec<Named<'_>> {
    let list = target.strip_prefix("subjects ").or_else(|| target.strip_prefix("subject ")).unwrap_or_default();
    list.split(',')
        .map(str::trim)
        .filter_map(|name| {
            if name.len() == PUBLIC_ID_HEX && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                Some(Named::Public(name))
            } else {
                name.parse().ok().map(Named::Row)
            }
        })
        .collect()
}

/// How an audit entry names a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named<'a> {
    /// The subject's random public id: never reused.
    Public(&'a str),
    /// A row id (entries older than public ids): counts only for the subject holding that row
    /// id when the entry was written, since a restore can hand a row id to someone new.
    Row(i64),
}

/// A subject as the reports match audit entries to it.
#[derive(sqlx::FromRow)]
struct Known {
    id: i64,
    public_id: String,
    created_at: i64,
}

impl Known {
    fn is_named_by(&self, named: Named<'_>, at: i64) -> bool {
        match named {
            Named::Public(public) => public == self.public_id,
            Named::Row(id) => id == self.id && at >= self.created_at,
        }
    }
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
        let known: Option<Known> = sqlx::query_as("SELECT id, public_id, created_at FROM subjects WHERE id = ?1")
            .bind(subject)
            .fetch_optional(self.reader())
            .await?;
        let Some(known) = known else { return Ok(Vec::new()) };
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, at, actor, action, target, details FROM audit_log WHERE target LIKE 'subject%' ORDER BY id",
        )
        .fetch_all(self.reader())
        .await?;
        let mut rows: Vec<AuditRow> = rows
            .into_iter()
            .filter(|r| {
                r.target.as_deref().is_some_and(|t| subjects_in(t).into_iter().any(|n| known.is_named_by(n, r.at)))
            })
            .collect();
        // Lists, searches and dashboard frames that showed the subject (the access log).
        rows.extend(self.views_of_subject(subject).await?.into_iter().map(|(id, at, actor, view)| AuditRow {
            id,
            at,
            actor,
            action: view,
            target: Some(format!("subject {}", known.public_id)),
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
        let entries: Vec<(i64, String, String, Option<String>)> = sqlx::query_as(
            "SELECT at, actor, action, target FROM audit_log
             WHERE at >= ?1 AND at < ?2 AND (?3 IS NULL OR actor = ?3) AND target LIKE 'subject%'",
        )
        .bind(from)
        .bind(until)
        .bind(user)
        .fetch_all(self.reader())
        .await?;
        if !entries.is_empty() {
            // Subjects erased since are not in the report: nothing is held about them any more.
            let subjects: Vec<Known> =
                sqlx::query_as("SELECT id, public_id, created_at FROM subjects").fetch_all(self.reader()).await?;
            let by_public: HashMap<&str, &Known> = subjects.iter().map(|k| (k.public_id.as_str(), k)).collect();
            let by_row: HashMap<i64, &Known> = subjects.iter().map(|k| (k.id, k)).collect();
            for (at, actor, action, target) in &entries {
                for named in subjects_in(target.as_deref().unwrap_or_default()) {
                    let candidate = match named {
                        Named::Public(public) => by_public.get(public),
                        Named::Row(id) => by_row.get(&id),
                    };
                    if let Some(known) = candidate.filter(|k| k.is_named_by(named, *at)) {
                        add(known.id, format!("{action} by {actor}"));
                    }
                }
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
    use super::{Known, Named, subjects_in};

    const A: &str = "0123456789abcdef0123456789abcdef";
    const B: &str = "fedcba9876543210fedcba9876543210";

    #[test]
    fn targets_name_subjects() {
        assert_eq!(subjects_in(&format!("subject {A}")), [Named::Public(A)]);
        assert_eq!(subjects_in(&format!("subjects {A},{B}")), [Named::Public(A), Named::Public(B)]);
        assert_eq!(subjects_in("subject 3"), [Named::Row(3)]);
        assert_eq!(subjects_in("subjects 3,4,12"), [Named::Row(3), Named::Row(4), Named::Row(12)]);
        assert_eq!(subjects_in("subject #7"), []);
        assert!(subjects_in("none").is_empty());
        assert!(subjects_in("2026-12-25").is_empty());
    }

    #[test]
    fn a_row_id_names_only_the_subject_who_held_it_then() {
        let known = Known { id: 3, public_id: A.to_owned(), created_at: 1_000 };
        assert!(known.is_named_by(Named::Public(A), 0));
        assert!(!known.is_named_by(Named::Public(B), 2_000));
        assert!(known.is_named_by(Named::Row(3), 1_000));
        // Written before this subject existed: about whoever had row 3 before a restore.
        assert!(!known.is_named_by(Named::Row(3), 999));
        assert!(!known.is_named_by(Named::Row(4), 2_000));
    }
}
