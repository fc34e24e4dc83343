//! Bank holidays of England and Wales, and working-day arithmetic (DOS-5).
//!
//! The provider's target answer times are set in working days in England (for example "contact within 10
//! working days"), so the date an answer is due skips weekends and bank holidays; go-live on a bank holiday is
//! refused. This module is pure: no I/O and no clock reads, so the same date always gives the same answer.
//!
//! A year's bank holidays are the standing rules (New Year's Day, Good Friday, Easter Monday, the early May,
//! spring and summer bank holidays, Christmas Day and Boxing Day, with substitute weekdays when one falls on a
//! weekend) adjusted by [`ANNOUNCED`], the in-tree table of holidays moved or added by royal proclamation. A new
//! announcement (a one-off day, or a standing holiday moved) is a new row in that table. The standing rules are
//! today's (in force since 1978) and are applied to every year; dates are checked against the gov.uk list, via
//! the `holidays` Python package, for 1995 to 2035 (`tests/bank_holidays.rs`).

use jiff::ToSpan;
use jiff::civil::{Date, Weekday, date};

/// A holiday given by the standing rules, which an announcement can move to another date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// 1 January, or the next Monday when it falls on a weekend.
    NewYearsDay,
    /// The Friday before Easter Sunday.
    GoodFriday,
    /// The Monday after Easter Sunday.
    EasterMonday,
    /// The first Monday in May.
    EarlyMay,
    /// The last Monday in May.
    Spring,
    /// The last Monday in August.
    Summer,
    /// 25 December, or a substitute weekday when it falls on a weekend.
    ChristmasDay,
    /// 26 December, or a substitute weekday when it falls on a weekend.
    BoxingDay,
}

/// What an announcement changes in its year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The standing holiday is moved to the announcement's date (and is not held on its usual date).
    Moved(Standing),
    /// An extra, one-off bank holiday on the announcement's date, with its name.
    Extra(&'static str),
}

/// One announced exception to the standing rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announcement {
    /// The year whose holidays change.
    pub year: i16,
    /// What changes.
    pub what: Change,
    /// The date the moved or extra holiday is held on.
    pub date: Date,
}

const fn announced(year: i16, what: Change, date: Date) -> Announcement {
    Announcement { year, what, date }
}

/// Holidays moved or added by royal proclamation, as announced on gov.uk. Add a row when a new one-off day or a
/// move is announced; the standing rules cover every other year.
pub const ANNOUNCED: &[Announcement] = &[
    // 50th anniversary of VE Day: the early May bank holiday moved from Monday 1 May to Monday 8 May 1995.
    announced(1995, Change::Moved(Standing::EarlyMay), date(1995, 5, 8)),
    // Millennium: an extra bank holiday on Friday 31 December 1999.
    announced(1999, Change::Extra("Millennium celebrations"), date(1999, 12, 31)),
    // Golden Jubilee of Elizabeth II: spring bank holiday moved from 27 May to Tuesday 4 June 2002, and an extra
    // bank holiday on Monday 3 June 2002.
    announced(2002, Change::Moved(Standing::Spring), date(2002, 6, 4)),
    announced(2002, Change::Extra("Golden Jubilee of Elizabeth II"), date(2002, 6, 3)),
    // Wedding of Prince William and Catherine Middleton: an extra bank holiday on Friday 29 April 2011.
    announced(2011, Change::Extra("Royal wedding"), date(2011, 4, 29)),
    // Diamond Jubilee of Elizabeth II: spring bank holiday moved from 28 May to Monday 4 June 2012, and an extra
    // bank holiday on Tuesday 5 June 2012.
    announced(2012, Change::Moved(Standing::Spring), date(2012, 6, 4)),
    announced(2012, Change::Extra("Diamond Jubilee of Elizabeth II"), date(2012, 6, 5)),
    // 75th anniversary of VE Day: the early May bank holiday moved from Monday 4 May to Friday 8 May 2020.
    announced(2020, Change::Moved(Standing::EarlyMay), date(2020, 5, 8)),
    // Platinum Jubilee of Elizabeth II: spring bank holiday moved from 30 May to Thursday 2 June 2022, and an
    // extra bank holiday on Friday 3 June 2022.
    announced(2022, Change::Moved(Standing::Spring), date(2022, 6, 2)),
    announced(2022, Change::Extra("Platinum Jubilee of Elizabeth II"), date(2022, 6, 3)),
    // State Funeral of Queen Elizabeth II: an extra bank holiday on Monday 19 September 2022.
    announced(2022, Change::Extra("State Funeral of Queen Elizabeth II"), date(2022, 9, 19)),
    // Coronation of King Charles III: an extra bank holiday on Monday 8 May 2023.
    announced(2023, Change::Extra("Coronation of King Charles III"), date(2023, 5, 8)),
];

/// The bank holidays of England and Wales in `year`, sorted by date, each with its name. Every date is a
/// weekday: a holiday falling on a weekend is replaced by its substitute day. Used to set the due date of an
/// answer whose target is in working days (DOS-5) and to refuse go-live on a bank holiday.
///
/// Empty for a year outside the dates `jiff` can represent (-9999 to 9999).
pub fn bank_holidays(year: i16) -> Vec<(Date, &'static str)> {
    let mut days: Vec<(Option<Standing>, Date, &'static str)> =
        standing(year).unwrap_or_default().into_iter().map(|(holiday, day, name)| (Some(holiday), day, name)).collect();
    for announcement in ANNOUNCED.iter().filter(|a| a.year == year) {
        match announcement.what {
            Change::Moved(holiday) => {
                for day in days.iter_mut().filter(|day| day.0 == Some(holiday)) {
                    day.1 = announcement.date;
                }
            }
            Change::Extra(name) => days.push((None, announcement.date, name)),
        }
    }
    days.sort_by_key(|day| day.1);
    days.into_iter().map(|(_, day, name)| (day, name)).collect()
}

/// Whether `date` is a bank holiday in England and Wales (substitute days included, weekend originals not).
pub fn is_bank_holiday(date: Date) -> bool {
    bank_holidays(date.year()).iter().any(|(day, _)| *day == date)
}

/// Whether `date` is a working day in England: Monday to Friday and not a bank holiday. Target answer times are
/// counted in these days (DOS-5).
pub fn is_working_day(date: Date) -> bool {
    WorkingDays::default().is_working_day(date)
}

/// The date that is `days` working days after `start` (DOS-5 due dates: "within 10 working days" of a request
/// made on `start` is due on `add_working_days(start, 10)`).
///
/// Counting starts the day after `start`, so `start` itself never counts even when it is a working day: the
/// result is the `days`-th working day after `start`. With `days == 0` the result is `start` if it is a working
/// day and otherwise the next working day (an answer due "the same working day" of a Saturday request is due on
/// Monday). Saturates at the last date `jiff` can represent rather than failing.
pub fn add_working_days(start: Date, days: u32) -> Date {
    let mut calendar = WorkingDays::default();
    if days == 0 && calendar.is_working_day(start) {
        return start;
    }
    let mut current = start;
    let mut left = days.max(1);
    while left > 0 {
        match current.tomorrow() {
            Ok(next) => current = next,
            Err(_) => return current,
        }
        if calendar.is_working_day(current) {
            left -= 1;
        }
    }
    current
}

/// The number of working days after `from` up to and including `to`: the number of working days an answer
/// given on `to` took for a request made on `from` (DOS-5). 0 when `to == from`; when `to` is before `from` it is
/// the negated count the other way round (`-working_days_between(to, from)`, so 0 or negative).
///
/// For `n > 0`, `working_days_between(start, add_working_days(start, n)) == n`.
pub fn working_days_between(from: Date, to: Date) -> i64 {
    if to < from {
        return -working_days_between(to, from);
    }
    let mut calendar = WorkingDays::default();
    let mut count = 0;
    let mut current = from;
    while current < to {
        match current.tomorrow() {
            Ok(next) => current = next,
            Err(_) => break,
        }
        if calendar.is_working_day(current) {
            count += 1;
        }
    }
    count
}

/// Remembers one year's bank holidays while walking through consecutive dates, so each year's table is built
/// once rather than once per day.
#[derive(Debug, Default)]
struct WorkingDays {
    year: Option<i16>,
    holidays: Vec<(Date, &'static str)>,
}

impl WorkingDays {
    fn is_working_day(&mut self, date: Date) -> bool {
        if matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) {
            return false;
        }
        if self.year != Some(date.year()) {
            self.year = Some(date.year());
            self.holidays = bank_holidays(date.year());
        }
        !self.holidays.iter().any(|(day, _)| *day == date)
    }
}

/// The standing rules for `year`, unsorted; `None` when a date of the year cannot be represented.
fn standing(year: i16) -> Option<Vec<(Standing, Date, &'static str)>> {
    let mut days = Vec::with_capacity(8);

    let new_year = Date::new(year, 1, 1).ok()?;
    days.push(match new_year.weekday() {
        Weekday::Saturday => (Standing::NewYearsDay, Date::new(year, 1, 3).ok()?, "New Year's Day (substitute day)"),
        Weekday::Sunday => (Standing::NewYearsDay, Date::new(year, 1, 2).ok()?, "New Year's Day (substitute day)"),
        _ => (Standing::NewYearsDay, new_year, "New Year's Day"),
    });

    let easter = easter_sunday(year)?;
    days.push((Standing::GoodFriday, easter.checked_sub(2.days()).ok()?, "Good Friday"));
    days.push((Standing::EasterMonday, easter.checked_add(1.days()).ok()?, "Easter Monday"));

    let may = Date::new(year, 5, 1).ok()?;
    days.push((Standing::EarlyMay, may.nth_weekday_of_month(1, Weekday::Monday).ok()?, "Early May bank holiday"));
    days.push((Standing::Spring, may.nth_weekday_of_month(-1, Weekday::Monday).ok()?, "Spring bank holiday"));
    let august = Date::new(year, 8, 1).ok()?;
    days.push((Standing::Summer, august.nth_weekday_of_month(-1, Weekday::Monday).ok()?, "Summer bank holiday"));

    let christmas = Date::new(year, 12, 25).ok()?;
    let (christmas_day, boxing_day) = match christmas.weekday() {
        // Christmas on Friday: Boxing Day (Saturday) moves to Monday 28.
        Weekday::Friday => ((25, "Christmas Day"), (28, "Boxing Day (substitute day)")),
        // Christmas on Saturday: Monday 27 and Tuesday 28 are the substitutes.
        Weekday::Saturday => ((27, "Christmas Day (substitute day)"), (28, "Boxing Day (substitute day)")),
        // Christmas on Sunday: Boxing Day is Monday 26, and Christmas's substitute is Tuesday 27.
        Weekday::Sunday => ((27, "Christmas Day (substitute day)"), (26, "Boxing Day")),
        _ => ((25, "Christmas Day"), (26, "Boxing Day")),
    };
    days.push((Standing::ChristmasDay, Date::new(year, 12, christmas_day.0).ok()?, christmas_day.1));
    days.push((Standing::BoxingDay, Date::new(year, 12, boxing_day.0).ok()?, boxing_day.1));

    Some(days)
}

/// Easter Sunday in the Gregorian calendar, by the anonymous Gregorian algorithm (Meeus/Jones/Butcher).
fn easter_sunday(year: i16) -> Option<Date> {
    let y = i32::from(year);
    let a = y.rem_euclid(19);
    let b = y.div_euclid(100);
    let c = y.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let month = (h + l - 7 * m + 114).div_euclid(31);
    let day = (h + l - 7 * m + 114).rem_euclid(31) + 1;
    Date::new(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn easter_sundays_match_published_dates() {
        for (year, month, day) in [
            (1995, 4, 16),
            (2000, 4, 23),
            (2011, 4, 24),
            (2019, 4, 21),
            (2024, 3, 31),
            (2026, 4, 5),
            (2038, 4, 25),
            (2285, 3, 22),
        ] {
            assert_eq!(easter_sunday(year), Some(date(year, month, day)), "{year}");
        }
    }

    #[test]
    fn christmas_substitutes_follow_the_weekday_of_christmas() {
        let december = |year: i16| -> Vec<Date> {
            bank_holidays(year).into_iter().map(|(day, _)| day).filter(|day| day.month() == 12).collect()
        };
        assert_eq!(december(2020), [date(2020, 12, 25), date(2020, 12, 28)]); // Friday
        assert_eq!(december(2021), [date(2021, 12, 27), date(2021, 12, 28)]); // Saturday
        assert_eq!(december(2022), [date(2022, 12, 26), date(2022, 12, 27)]); // Sunday
        assert_eq!(december(2024), [date(2024, 12, 25), date(2024, 12, 26)]); // Wednesday
    }

    #[test]
    fn new_year_on_a_weekend_moves_to_monday() {
        assert!(is_bank_holiday(date(2022, 1, 3))); // 1 January 2022 was a Saturday
        assert!(!is_bank_holiday(date(2022, 1, 1)));
        assert!(is_bank_holiday(date(2023, 1, 2))); // 1 January 2023 was a Sunday
    }

    #[test]
    fn announced_moves_replace_the_usual_date() {
        assert!(is_bank_holiday(date(2020, 5, 8)));
        assert!(!is_bank_holiday(date(2020, 5, 4)));
        assert!(is_bank_holiday(date(2022, 6, 2)));
        assert!(!is_bank_holiday(date(2022, 5, 30)));
        assert_eq!(bank_holidays(2022).len(), 10);
    }

    #[test]
    fn every_bank_holiday_is_a_weekday_and_the_table_is_sorted() {
        for year in 1990..=2100 {
            let days = bank_holidays(year);
            assert!(days.windows(2).all(|w| w[0].0 < w[1].0), "{year}: {days:?}");
            assert!(days.iter().all(|(day, _)| !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday)));
            assert!(days.iter().all(|(day, _)| day.year() == year));
        }
    }

    #[test]
    fn announcements_are_in_their_own_year() {
        assert!(ANNOUNCED.iter().all(|a| a.date.year() == a.year));
    }

    #[test]
    fn the_edges_of_the_representable_range_do_not_panic() {
        assert!(bank_holidays(i16::MAX).is_empty());
        assert!(bank_holidays(i16::MIN).is_empty());
        assert_eq!(add_working_days(Date::MAX, 5), Date::MAX);
        assert!(!bank_holidays(9999).is_empty());
        assert!(!bank_holidays(-9999).is_empty());
    }

    #[test]
    fn zero_working_days_is_today_or_the_next_working_day() {
        assert_eq!(add_working_days(date(2026, 4, 2), 0), date(2026, 4, 2));
        assert_eq!(add_working_days(date(2026, 4, 3), 0), date(2026, 4, 7)); // Good Friday → Tuesday
        assert_eq!(working_days_between(date(2026, 4, 2), date(2026, 4, 2)), 0);
        assert_eq!(working_days_between(date(2026, 4, 20), date(2026, 4, 2)), -10);
    }
}
