//! Data-subject requests as cases: kind, date received, the legal deadline (one calendar month
//! later: the same day next month, or that month's last day when it is shorter — UK ICO
//! guidance), status, a link to the data subject and handling notes (not personal data).
//! Opening and changing a case is audited without the notes.

use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime};

use crate::service::hours::uk_local;
use crate::store::{AuditEntry, CaseChange, CaseRow, CaseWrite, NewCase, Store, StoreError};

const MAX_NOTES: usize = 2000;

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("{0}")]
    Invalid(String),
    #[error("no request case {0}")]
    UnknownCase(i64),
    #[error("no data subject with that id; find it with a search first")]
    UnknownSubject,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Access,
    Erasure,
    Rectification,
    Objection,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Access => "access",
            Kind::Erasure => "erasure",
            Kind::Rectification => "rectification",
            Kind::Objection => "objection",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Done,
    Refused,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Done => "done",
            Status::Refused => "refused",
        }
    }
}

/// A case as the API shows it, with the days left before the deadline (negative when late).
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    pub id: i64,
    pub reference: String,
    pub kind: String,
    pub received_on: String,
    pub deadline: String,
    pub status: String,
    pub subject: Option<i64>,
    pub notes: String,
    pub created_by: String,
    pub created_at: String,
    pub closed_at: Option<String>,
    pub days_left: i64,
    /// Open and past its deadline.
    pub overdue: bool,
}

/// One calendar month after `received`: the same day next month, clamped to that month's end
/// (31 January → 28 or 29 February).
pub fn deadline(received: Date) -> Date {
    let (year, month) = match received.month() {
        Month::December => (received.year() + 1, Month::January),
        other => (received.year(), other.next()),
    };
    let day = received.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).unwrap_or(received)
}

const ISO: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

fn parse_date(text: &str) -> Result<Date, CaseError> {
    Date::parse(text.trim(), ISO).map_err(|_| CaseError::Invalid("a date looks like 2026-01-31".into()))
}

fn format_date(date: Date) -> String {
    date.format(ISO).unwrap_or_default()
}

/// Today in the UK.
pub fn today() -> Date {
    uk_local(OffsetDateTime::now_utc()).date()
}

/// The API view of a stored case on `today`.
pub fn view(row: CaseRow, today: Date) -> Case {
    let days_left = Date::parse(&row.deadline, ISO).map(|d| (d - today).whole_days()).unwrap_or(0);
    let overdue = row.status == "open" && days_left < 0;
    Case {
        id: row.id,
        reference: row.reference,
        kind: row.kind,
        received_on: row.received_on,
        deadline: row.deadline,
        status: row.status,
        subject: row.subject_id,
        notes: row.notes,
        created_by: row.created_by,
        created_at: crate::util::rfc3339(row.created_at),
        closed_at: row.closed_at.map(crate::util::rfc3339),
        days_left,
        overdue,
    }
}

fn check_notes(notes: &str) -> Result<String, CaseError> {
    if notes.chars().count() > MAX_NOTES {
        return Err(CaseError::Invalid(format!("notes are at most {MAX_NOTES} characters")));
    }
    Ok(notes.trim().to_owned())
}

fn written(write: CaseWrite, id: i64) -> Result<Case, CaseError> {
    match write {
        CaseWrite::Done(row) => Ok(view(*row, today())),
        CaseWrite::UnknownCase => Err(CaseError::UnknownCase(id)),
        CaseWrite::UnknownSubject => Err(CaseError::UnknownSubject),
    }
}

/// Cases (only open ones when `only_open`), open ones first by deadline; at most 500.
pub async fn list(store: &Store, only_open: bool) -> Result<Vec<Case>, CaseError> {
    let today = today();
    Ok(store.cases(only_open, 500).await?.into_iter().map(|row| view(row, today)).collect())
}

/// A request to log: `received_on` (ISO date, default today, not in the future).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    pub kind: Kind,
    pub received_on: Option<String>,
    pub subject: Option<i64>,
    #[serde(default)]
    pub notes: String,
}

pub async fn create(store: &Store, request: NewRequest, actor: &str) -> Result<Case, CaseError> {
    let today = today();
    let received = match request.received_on.as_deref() {
        Some(text) => parse_date(text)?,
        None => today,
    };
    if received > today {
        return Err(CaseError::Invalid("the date received cannot be in the future".into()));
    }
    if received.year() < 2000 {
        return Err(CaseError::Invalid("the date received is before 2000".into()));
    }
    let case = NewCase {
        kind: request.kind.as_str(),
        year: received.year(),
        received_on: format_date(received),
        deadline: format_date(deadline(received)),
        subject_id: request.subject,
        notes: check_notes(&request.notes)?,
        created_by: actor.to_owned(),
    };
    let audit = AuditEntry::new(actor, "gdpr.case.create").details(format!("kind {}", request.kind.as_str()));
    written(store.create_case(case, audit).await?, 0)
}

/// Changes to a case; `subject: null` unlinks the data subject.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseUpdate {
    pub status: Option<Status>,
    pub notes: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub subject: Option<Option<i64>>,
}

/// A field that is present (even as `null`) becomes `Some`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

pub async fn update(store: &Store, id: i64, update: CaseUpdate, actor: &str) -> Result<Case, CaseError> {
    let mut changed = Vec::new();
    if let Some(status) = update.status {
        changed.push(format!("status {}", status.as_str()));
    }
    if update.notes.is_some() {
        changed.push("notes".to_owned());
    }
    match update.subject {
        Some(Some(subject)) => {
            // The public id: a row id could name someone else after a restore.
            let public = store.subject_public_id(subject).await?.unwrap_or_else(|| format!("#{subject}"));
            changed.push(format!("subject {public}"));
        }
        Some(None) => changed.push("subject none".to_owned()),
        None => {}
    }
    if changed.is_empty() {
        return Err(CaseError::Invalid("change at least one of status, notes, subject".into()));
    }
    let change = CaseChange {
        status: update.status.map(Status::as_str),
        notes: update.notes.as_deref().map(check_notes).transpose()?,
        subject_id: update.subject,
    };
    let audit = AuditEntry::new(actor, "gdpr.case.update").details(changed.join(", "));
    written(store.update_case(id, change, audit).await?, id)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn deadline_is_one_calendar_month_later_clamped_to_month_end() {
        assert_eq!(deadline(date!(2026 - 01 - 31)), date!(2026 - 02 - 28));
        assert_eq!(deadline(date!(2028 - 01 - 31)), date!(2028 - 02 - 29), "leap year");
        assert_eq!(deadline(date!(2026 - 01 - 15)), date!(2026 - 02 - 15));
        assert_eq!(deadline(date!(2026 - 03 - 31)), date!(2026 - 04 - 30));
        assert_eq!(deadline(date!(2026 - 12 - 31)), date!(2027 - 01 - 31), "over the year end");
        assert_eq!(deadline(date!(2026 - 02 - 28)), date!(2026 - 03 - 28));
    }

    fn row(deadline: &str, status: &str) -> CaseRow {
        CaseRow {
            id: 1,
            reference: "DR-2026-001".into(),
            kind: "access".into(),
            received_on: "2026-01-01".into(),
            deadline: deadline.into(),
            status: status.into(),
            subject_id: None,
            notes: String::new(),
            created_by: "dora".into(),
            created_at: 0,
            closed_at: None,
        }
    }

    #[test]
    fn overdue_only_when_open_and_past_the_deadline() {
        let today = date!(2026 - 02 - 10);
        let on_the_day = view(row("2026-02-10", "open"), today);
        assert_eq!((on_the_day.days_left, on_the_day.overdue), (0, false));
        let late = view(row("2026-02-07", "open"), today);
        assert_eq!((late.days_left, late.overdue), (-3, true));
        assert!(!view(row("2026-02-07", "done"), today).overdue, "a closed case is not overdue");
        assert_eq!(view(row("2026-03-01", "open"), today).days_left, 19);
    }
}
