//! Business hours in UK civil time, and the UK bank-holiday rules.
//!
//! UK time is computed here rather than from a bundled time-zone database: GMT, and BST (UTC+1)
//! from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, Weekday};

pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MAX_INTERVALS: usize = 4;
/// How far ahead `next_opening` looks.
const LOOKAHEAD_DAYS: i64 = 14;

/// A weekly schedule: day (`mon`…`sun`) → opening intervals as `["09:00", "17:00"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Schedule(pub BTreeMap<String, Vec<[String; 2]>>);

/// Minutes since midnight of `HH:MM` (00:00–24:00).
fn minutes(raw: &str) -> Option<u16> {
    let (h, m) = raw.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    let total = h * 60 + m;
    (m < 60 && total <= 24 * 60).then_some(total)
}

impl Schedule {
    /// Checks the schedule; the problem in words otherwise.
    pub fn check(&self) -> Result<(), String> {
        for (day, intervals) in &self.0 {
            if !DAYS.contains(&day.as_str()) {
                return Err(format!("`{day}` is not a day; use mon, tue, wed, thu, fri, sat or sun"));
            }
            if intervals.len() > MAX_INTERVALS {
                return Err(format!("{day}: at most {MAX_INTERVALS} opening times a day"));
            }
            let mut spans = Vec::new();
            for [from, to] in intervals {
                let (Some(a), Some(b)) = (minutes(from), minutes(to)) else {
                    return Err(format!("{day}: times are HH:MM from 00:00 to 24:00 (got {from}–{to})"));
                };
                if a >= b {
                    return Err(format!("{day}: {from}–{to} must start before it ends"));
                }
                spans.push((a, b));
            }
            spans.sort_unstable();
            if spans.windows(2).any(|w| w[1].0 < w[0].1) {
                return Err(format!("{day}: opening times overlap"));
            }
        }
        Ok(())
    }

    fn spans(&self, weekday: Weekday) -> Vec<(u16, u16)> {
        let key = DAYS[weekday.number_days_from_monday() as usize];
        let mut spans: Vec<_> = self
            .0
            .get(key)
            .map(|list| list.iter().filter_map(|[a, b]| Some((minutes(a)?, minutes(b)?))).collect())
            .unwrap_or_default();
        spans.sort_unstable();
        spans
    }
}

/// When a department takes chats: `schedule` None means at all hours (of the days that are
/// not bank holidays it closes on).
#[derive(Debug, Clone, Copy)]
pub struct Hours<'a> {
    pub schedule: Option<&'a Schedule>,
    pub closed_on_bank_holidays: bool,
    pub bank_holidays: &'a BTreeSet<Date>,
}

impl Hours<'_> {
    fn closed_all_day(&self, date: Date) -> bool {
        self.closed_on_bank_holidays && self.bank_holidays.contains(&date)
    }

    /// Open at the instant `at`?
    pub fn is_open(&self, at: OffsetDateTime) -> bool {
        let local = uk_local(at);
        if self.closed_all_day(local.date()) {
            return false;
        }
        let Some(schedule) = self.schedule else { return true };
        let minute = u16::from(local.hour()) * 60 + u16::from(local.minute());
        schedule.spans(local.weekday()).iter().any(|(a, b)| (*a..*b).contains(&minute))
    }

    /// The next instant after `at` when it opens (None when open now with no schedule, or
    /// closed for the next two weeks).
    pub fn next_opening(&self, at: OffsetDateTime) -> Option<OffsetDateTime> {
        let local = uk_local(at);
        let Some(schedule) = self.schedule else {
            if !self.closed_all_day(local.date()) {
                return None;
            }
            let mut date = local.date();
            for _ in 0..LOOKAHEAD_DAYS {
                date = date.next_day()?;
                if !self.closed_all_day(date) {
                    return Some(from_uk_local(date, 0));
                }
            }
            return None;
        };
        let now_minute = u16::from(local.hour()) * 60 + u16::from(local.minute());
        for offset in 0..=LOOKAHEAD_DAYS {
            let date = local.date().checked_add(Duration::days(offset))?;
            if self.closed_all_day(date) {
                continue;
            }
            for (start, _) in schedule.spans(date.weekday()) {
                if offset == 0 && start <= now_minute {
                    continue;
                }
                // A span that continues from the previous day's 24:00 is not an opening.
                if start == 0 && self.is_open(from_uk_local(date, 0) - Duration::minutes(1)) {
                    continue;
                }
                return Some(from_uk_local(date, start));
            }
        }
        None
    }
}

/// The last `weekday` of a month.
fn last_weekday(year: i32, month: Month, weekday: Weekday) -> Date {
    let next = if month == Month::December {
        Date::from_calendar_date(year + 1, Month::January, 1)
    } else {
        Date::from_calendar_date(year, month.next(), 1)
    };
    let mut day = next.map(|d| d - Duration::days(1)).unwrap_or(Date::MIN);
    while day.weekday() != weekday {
        day -= Duration::days(1);
    }
    day
}

fn last_sunday(year: i32, month: Month) -> Date {
    last_weekday(year, month, Weekday::Sunday)
}

/// Whether British Summer Time is in force at the instant `at`.
pub fn is_bst(at: OffsetDateTime) -> bool {
    let utc = at.to_offset(time::UtcOffset::UTC);
    let year = utc.year();
    let one = time::macros::time!(01:00);
    let start = PrimitiveDateTime::new(last_sunday(year, Month::March), one);
    let end = PrimitiveDateTime::new(last_sunday(year, Month::October), one);
    let naive = PrimitiveDateTime::new(utc.date(), utc.time());
    naive >= start && naive < end
}

/// UK civil date and time at `at`.
pub fn uk_local(at: OffsetDateTime) -> PrimitiveDateTime {
    let utc = at.to_offset(time::UtcOffset::UTC);
    let shifted = if is_bst(at) { utc + Duration::hours(1) } else { utc };
    PrimitiveDateTime::new(shifted.date(), shifted.time())
}

/// The instant of UK civil `date` at `minute` past midnight (24:00 is the next midnight). In
/// the hour skipped in March the BST reading is used; in the hour repeated in October, the
/// first.
pub fn from_uk_local(date: Date, minute: u16) -> OffsetDateTime {
    let midnight = PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc();
    let naive = midnight + Duration::minutes(i64::from(minute));
    let as_bst = naive - Duration::hours(1);
    if is_bst(as_bst) { as_bst } else { naive }
}

/// Easter Sunday (Gregorian; anonymous algorithm).
fn easter(year: i32) -> Option<Date> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    Date::from_calendar_date(year, Month::try_from(month as u8).ok()?, day as u8).ok()
}

/// The first `weekday` on or after `date`.
fn on_or_after(date: Date, weekday: Weekday) -> Date {
    let mut d = date;
    while d.weekday() != weekday {
        d += Duration::days(1);
    }
    d
}

/// The region whose bank-holiday rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Region {
    EnglandAndWales,
    Scotland,
    NorthernIreland,
}

/// Bank holidays of `year` by the standing rules of `region`, with substitute days for those
/// falling at a weekend. One-off holidays (a coronation, a jubilee) are added by hand.
pub fn bank_holidays(region: Region, year: i32) -> Vec<(Date, &'static str)> {
    let date = |m: Month, d: u8| Date::from_calendar_date(year, m, d).ok();
    let mut fixed: Vec<(Date, &'static str)> = Vec::new();
    let mut out: Vec<(Date, &'static str)> = Vec::new();
    let Some(jan1) = date(Month::January, 1) else { return out };
    fixed.push((jan1, "New Year’s Day"));
    if region == Region::Scotland
        && let Some(d) = date(Month::January, 2)
    {
        fixed.push((d, "2nd January"));
    }
    if region == Region::NorthernIreland
        && let Some(d) = date(Month::March, 17)
    {
        fixed.push((d, "St Patrick’s Day"));
    }
    if let Some(sunday) = easter(year) {
        out.push((sunday - Duration::days(2), "Good Friday"));
        if region != Region::Scotland {
            out.push((sunday + Duration::days(1), "Easter Monday"));
        }
    }
    if let Some(may1) = date(Month::May, 1) {
        out.push((on_or_after(may1, Weekday::Monday), "Early May bank holiday"));
    }
    out.push((last_weekday(year, Month::May, Weekday::Monday), "Spring bank holiday"));
    if region == Region::NorthernIreland
        && let Some(d) = date(Month::July, 12)
    {
        fixed.push((d, "Battle of the Boyne (Orangemen’s Day)"));
    }
    if region == Region::Scotland {
        if let Some(aug1) = date(Month::August, 1) {
            out.push((on_or_after(aug1, Weekday::Monday), "Summer bank holiday"));
        }
    } else {
        out.push((last_weekday(year, Month::August, Weekday::Monday), "Summer bank holiday"));
    }
    if region == Region::Scotland
        && let Some(d) = date(Month::November, 30)
    {
        fixed.push((d, "St Andrew’s Day"));
    }
    if let (Some(christmas), Some(boxing)) = (date(Month::December, 25), date(Month::December, 26)) {
        fixed.push((christmas, "Christmas Day"));
        fixed.push((boxing, "Boxing Day"));
    }
    // Fixed-date holidays at a weekend move to the next weekday not already a holiday.
    let mut taken: BTreeSet<Date> = out.iter().map(|(d, _)| *d).collect();
    taken.extend(fixed.iter().map(|(d, _)| *d).filter(|d| !is_weekend(*d)));
    for (day, name) in fixed {
        if !is_weekend(day) {
            out.push((day, name));
            continue;
        }
        let mut sub = day;
        while is_weekend(sub) || taken.contains(&sub) {
            sub += Duration::days(1);
        }
        taken.insert(sub);
        out.push((sub, name));
    }
    out.sort();
    out
}

fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(raw: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(raw, format).ok()
}

/// `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn weekdays(from: &str, to: &str) -> Schedule {
        let mut map = BTreeMap::new();
        for day in &DAYS[..5] {
            map.insert((*day).to_owned(), vec![[from.to_owned(), to.to_owned()]]);
        }
        Schedule(map)
    }

    #[test]
    fn uk_time_follows_bst() {
        assert!(!is_bst(datetime!(2026-03-29 00:59 UTC)));
        assert!(is_bst(datetime!(2026-03-29 01:00 UTC)));
        assert!(is_bst(datetime!(2026-10-25 00:59 UTC)));
        assert!(!is_bst(datetime!(2026-10-25 01:00 UTC)));
        assert_eq!(uk_local(datetime!(2026-07-01 08:30 UTC)), datetime!(2026-07-01 09:30));
        assert_eq!(uk_local(datetime!(2026-12-01 08:30 UTC)), datetime!(2026-12-01 08:30));
        assert_eq!(from_uk_local(date!(2026 - 07 - 01), 9 * 60), datetime!(2026-07-01 08:00 UTC));
        assert_eq!(from_uk_local(date!(2026 - 12 - 01), 9 * 60), datetime!(2026-12-01 09:00 UTC));
    }

    #[test]
    fn schedules_are_checked() {
        assert!(weekdays("09:00", "17:00").check().is_ok());
        assert!(weekdays("00:00", "24:00").check().is_ok());
        for (from, to) in [("17:00", "09:00"), ("9:00", "17:00"), ("09:60", "17:00"), ("09:00", "24:01")] {
            assert!(weekdays(from, to).check().is_err(), "{from}-{to}");
        }
        let mut overlapping = weekdays("09:00", "13:00");
        overlapping.0.insert("mon".into(), vec![["09:00".into(), "13:00".into()], ["12:00".into(), "17:00".into()]]);
        assert!(overlapping.check().expect_err("overlap").contains("overlap"));
        let mut bad_day = Schedule::default();
        bad_day.0.insert("monday".into(), vec![]);
        assert!(bad_day.check().is_err());
    }

    #[test]
    fn open_and_next_opening_in_uk_time() {
        let schedule = weekdays("09:00", "17:00");
        let holidays = BTreeSet::from([date!(2026 - 12 - 25)]);
        let hours = Hours { schedule: Some(&schedule), closed_on_bank_holidays: true, bank_holidays: &holidays };
        // Summer: 08:30 UTC is 09:30 BST.
        assert!(hours.is_open(datetime!(2026-07-01 08:30 UTC)));
        assert!(!hours.is_open(datetime!(2026-07-01 16:30 UTC)));
        // Winter: 08:30 UTC is 08:30 GMT.
        assert!(!hours.is_open(datetime!(2026-12-01 08:30 UTC)));
        assert_eq!(hours.next_opening(datetime!(2026-12-01 08:30 UTC)), Some(datetime!(2026-12-01 09:00 UTC)));
        // Christmas Day (Friday) is closed; the next opening is Monday 28th.
        assert!(!hours.is_open(datetime!(2026-12-25 12:00 UTC)));
        assert_eq!(hours.next_opening(datetime!(2026-12-24 18:00 UTC)), Some(datetime!(2026-12-28 09:00 UTC)));
        let ignoring = Hours { closed_on_bank_holidays: false, ..hours };
        assert!(ignoring.is_open(datetime!(2026-12-25 12:00 UTC)));
        // At all hours, but not on bank holidays: closed on Christmas Day, open on the 26th.
        let always = Hours { schedule: None, ..hours };
        assert!(always.is_open(datetime!(2026-12-24 23:00 UTC)));
        assert!(!always.is_open(datetime!(2026-12-25 12:00 UTC)));
        assert_eq!(always.next_opening(datetime!(2026-12-25 12:00 UTC)), Some(datetime!(2026-12-26 00:00 UTC)));
        assert_eq!(always.next_opening(datetime!(2026-12-24 12:00 UTC)), None);
        let really_always = Hours { schedule: None, closed_on_bank_holidays: false, ..hours };
        assert!(really_always.is_open(datetime!(2026-12-25 12:00 UTC)));
    }

    #[test]
    fn bank_holidays_by_region() {
        let dates = |region, year| -> Vec<String> {
            bank_holidays(region, year).into_iter().map(|(d, _)| format_date(d)).collect()
        };
        // Published by GOV.UK for England and Wales.
        assert_eq!(
            dates(Region::EnglandAndWales, 2026),
            [
                "2026-01-01",
                "2026-04-03",
                "2026-04-06",
                "2026-05-04",
                "2026-05-25",
                "2026-08-31",
                "2026-12-25",
                "2026-12-28"
            ]
        );
        assert_eq!(
            dates(Region::EnglandAndWales, 2027),
            [
                "2027-01-01",
                "2027-03-26",
                "2027-03-29",
                "2027-05-03",
                "2027-05-31",
                "2027-08-30",
                "2027-12-27",
                "2027-12-28"
            ]
        );
        assert_eq!(
            dates(Region::Scotland, 2026),
            [
                "2026-01-01",
                "2026-01-02",
                "2026-04-03",
                "2026-05-04",
                "2026-05-25",
                "2026-08-03",
                "2026-11-30",
                "2026-12-25",
                "2026-12-28"
            ]
        );
        assert_eq!(
            dates(Region::NorthernIreland, 2026),
            [
                "2026-01-01",
                "2026-03-17",
                "2026-04-03",
                "2026-04-06",
                "2026-05-04",
                "2026-05-25",
                "2026-07-13",
                "2026-08-31",
                "2026-12-25",
                "2026-12-28"
            ]
        );
        assert_eq!(parse_date("2026-12-25"), Some(date!(2026 - 12 - 25)));
        assert_eq!(parse_date("25/12/2026"), None);
    }
}
