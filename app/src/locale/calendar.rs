//! Dates and times as each language writes them (`3:05 PM`, `오후 3:05`, "Monday, 30
//! November", "11월 30일 월요일"), a day's name from today, and the ISO instant of
//! `<time datetime>`: plain arithmetic on milliseconds already in the reader's zone.

use super::lang::Lang;

/// A day's name between the messages: "Today", "Yesterday", or its date (with the year
/// when it is not this year's).
pub fn day_label(lang: Lang, day: i64, today: i64) -> String {
    let t = lang.texts();
    match today - day {
        0 => t.today.to_owned(),
        1 => t.yesterday.to_owned(),
        _ => {
            let civil = Civil::of(day * 86_400_000);
            civil.date(lang, civil.year != Civil::of(today * 86_400_000).year)
        }
    }
}

/// A moment as a calendar and a wall clock show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Civil {
    pub(super) days: i64,
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
}

const EN_WEEKDAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const KO_WEEKDAYS: [&str; 7] = ["일요일", "월요일", "화요일", "수요일", "목요일", "금요일", "토요일"];
const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl Civil {
    /// Of milliseconds since the epoch, already shifted to the wall clock's zone.
    pub(super) fn of(local_ms: i64) -> Civil {
        let days = local_ms.div_euclid(86_400_000);
        let (year, month, day) = civil_date(days);
        let minutes = local_ms.rem_euclid(86_400_000) / 60_000;
        Civil { days, year, month, day, hour: minutes / 60, minute: minutes % 60 }
    }

    /// 0 for Sunday (1970-01-01 was a Thursday).
    fn weekday(self) -> usize {
        (self.days + 4).rem_euclid(7) as usize
    }

    pub(super) fn clock(self, lang: Lang) -> String {
        let t = lang.texts();
        let (half, hour) = match self.hour {
            0 => (t.am, 12),
            h @ 1..=11 => (t.am, h),
            12 => (t.pm, 12),
            h => (t.pm, h - 12),
        };
        let minute = self.minute;
        match lang {
            Lang::En => format!("{hour}:{minute:02} {half}"),
            Lang::Ko => format!("{half} {hour}:{minute:02}"),
        }
    }

    /// "Monday, 30 November" (", 2026" with the year); "11월 30일 월요일" ("2026년 " before).
    pub(super) fn date(self, lang: Lang, with_year: bool) -> String {
        let Civil { year, month, day, .. } = self;
        match (lang, with_year) {
            (Lang::En, false) => format!("{}, {day} {}", EN_WEEKDAYS[self.weekday()], EN_MONTHS[month as usize - 1]),
            (Lang::En, true) => {
                format!("{}, {day} {} {year}", EN_WEEKDAYS[self.weekday()], EN_MONTHS[month as usize - 1])
            }
            (Lang::Ko, false) => format!("{month}월 {day}일 {}", KO_WEEKDAYS[self.weekday()]),
            (Lang::Ko, true) => format!("{year}년 {month}월 {day}일 {}", KO_WEEKDAYS[self.weekday()]),
        }
    }
}

/// Year, month and day of a count of days since 1970-01-01 (proleptic Gregorian).
fn civil_date(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A server timestamp as an ISO 8601 UTC instant, for `<time datetime>`.
pub fn iso_time(unix_ms: i64) -> String {
    let Civil { year, month, day, hour, minute, .. } = Civil::of(unix_ms);
    let second = unix_ms.rem_euclid(60_000) / 1000;
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_named_from_today() {
        let today = 19_675; // 2023-11-14, a Tuesday
        assert_eq!(day_label(Lang::En, today, today), "Today");
        assert_eq!(day_label(Lang::Ko, today - 1, today), "어제");
        assert_eq!(day_label(Lang::En, today - 2, today), "Sunday, 12 November");
        assert_eq!(day_label(Lang::Ko, today - 2, today), "11월 12일 일요일");
        assert_eq!(day_label(Lang::En, today - 400, today), "Monday, 10 October 2022");
        assert_eq!(day_label(Lang::Ko, today - 400, today), "2022년 10월 10일 월요일");
    }
}
