//! Bank holidays of England and Wales and working-day due dates (DOS-5).
//!
//! The dates are checked against an independent source: `fixtures/bank_holidays_england_1995_2035.csv`, generated
//! once from the Python `holidays` package (`UK(subdiv='ENG')`, weekend originals dropped) by
//! `fixtures/generate_bank_holidays.py` and committed.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test: helpers fail loudly")]

use std::collections::BTreeMap;

use jiff::civil::{Date, date};
use onramp_domain::calendar::bank_holidays::{
    add_working_days, bank_holidays, is_bank_holiday, is_working_day, working_days_between,
};
use proptest::prelude::*;

const FIXTURE: &str = include_str!("fixtures/bank_holidays_england_1995_2035.csv");

/// The fixture's dates by year, with their names (for the failure message).
fn fixture() -> BTreeMap<i16, Vec<(Date, String)>> {
    let mut years: BTreeMap<i16, Vec<(Date, String)>> = BTreeMap::new();
    for line in FIXTURE.lines().filter(|line| !line.trim().is_empty()) {
        let (day, name) = line.split_once(',').unwrap_or_else(|| panic!("bad fixture line {line:?}"));
        let day: Date = day.parse().unwrap_or_else(|e| panic!("bad fixture date {day:?}: {e}"));
        years.entry(day.year()).or_default().push((day, name.to_owned()));
    }
    years
}

#[test]
fn bank_holidays_match_the_holidays_package_fixture_1995_to_2035() {
    let fixture = fixture();
    assert_eq!(fixture.keys().copied().collect::<Vec<_>>(), (1995..=2035).collect::<Vec<_>>());
    for year in 1995..=2035 {
        let mut expected = fixture[&year].clone();
        expected.sort();
        let actual = bank_holidays(year);
        let expected_dates: Vec<Date> = expected.iter().map(|(day, _)| *day).collect();
        let actual_dates: Vec<Date> = actual.iter().map(|(day, _)| *day).collect();
        assert_eq!(
            actual_dates, expected_dates,
            "first differing year {year}\n  bank_holidays: {actual:?}\n  fixture:       {expected:?}"
        );
    }
}

#[test]
fn fixture_holds_the_announced_one_off_days() {
    let fixture = fixture();
    let all: Vec<Date> = fixture.values().flatten().map(|(day, _)| *day).collect();
    for day in [
        date(1995, 5, 8),
        date(1999, 12, 31),
        date(2002, 6, 3),
        date(2002, 6, 4),
        date(2011, 4, 29),
        date(2012, 6, 4),
        date(2012, 6, 5),
        date(2020, 5, 8),
        date(2022, 6, 2),
        date(2022, 6, 3),
        date(2022, 9, 19),
        date(2023, 5, 8),
    ] {
        assert!(all.contains(&day), "{day} missing from the fixture");
        assert!(is_bank_holiday(day), "{day}");
    }
}

#[test]
fn dos5_ten_working_days_across_easter() {
    // Thursday 2 April 2026; Good Friday 3 April and Easter Monday 6 April are not working days. Counting starts
    // the next day: Tue 7 to Fri 10 (4), Mon 13 to Fri 17 (9), Mon 20 (10). Counting the start day as well would
    // give Friday 17, which is not the rule.
    let start = date(2026, 4, 2);
    assert_eq!(add_working_days(start, 9), date(2026, 4, 17));
    assert!(is_bank_holiday(date(2026, 4, 3)));
    assert!(is_bank_holiday(date(2026, 4, 6)));
    assert_eq!(add_working_days(start, 10), date(2026, 4, 20));
    assert_eq!(working_days_between(start, date(2026, 4, 20)), 10);
}

#[test]
fn dos5_working_days_across_christmas() {
    // Christmas 2026 is a Friday; Boxing Day falls on Saturday, so Monday 28 is its substitute.
    let fixture = fixture();
    let december: Vec<Date> = fixture[&2026].iter().map(|(day, _)| *day).filter(|day| day.month() == 12).collect();
    assert_eq!(december, [date(2026, 12, 25), date(2026, 12, 28)]);
    assert_eq!(add_working_days(date(2026, 12, 23), 3), date(2026, 12, 30));
    assert_eq!(add_working_days(date(2026, 12, 23), 1), date(2026, 12, 24));
    assert_eq!(add_working_days(date(2026, 12, 24), 1), date(2026, 12, 29));
}

#[test]
fn dos5_working_days_across_new_year() {
    // 2027: Christmas is a Saturday (substitutes Mon 27, Tue 28), New Year's Day 2027 is a Friday.
    assert_eq!(add_working_days(date(2026, 12, 30), 1), date(2026, 12, 31));
    assert_eq!(add_working_days(date(2026, 12, 31), 1), date(2027, 1, 4));
    assert_eq!(add_working_days(date(2026, 12, 23), 10), date(2027, 1, 11));
    // 1 January 2022 was a Saturday: Monday 3 January was the substitute.
    assert_eq!(add_working_days(date(2021, 12, 24), 1), date(2021, 12, 29));
    assert_eq!(add_working_days(date(2021, 12, 31), 1), date(2022, 1, 4));
    assert_eq!(working_days_between(date(2021, 12, 24), date(2022, 1, 4)), 4); // 29, 30, 31 Dec and 4 Jan
}

#[test]
fn dos5_weekends_and_bank_holidays_are_not_working_days() {
    assert!(!is_working_day(date(2026, 4, 4))); // Saturday
    assert!(!is_working_day(date(2026, 4, 5))); // Sunday (Easter Sunday)
    assert!(!is_working_day(date(2026, 4, 3))); // Good Friday
    assert!(!is_working_day(date(2026, 12, 28))); // Boxing Day substitute
    assert!(is_working_day(date(2026, 4, 7))); // Tuesday after Easter
    assert!(!is_bank_holiday(date(2026, 12, 26))); // the weekend original is not listed
}

#[test]
fn dos5_zero_working_days_and_reversed_ranges() {
    assert_eq!(add_working_days(date(2026, 4, 7), 0), date(2026, 4, 7));
    assert_eq!(add_working_days(date(2026, 4, 4), 0), date(2026, 4, 7)); // Saturday before Easter Monday
    assert_eq!(working_days_between(date(2026, 4, 7), date(2026, 4, 7)), 0);
    assert_eq!(working_days_between(date(2026, 4, 20), date(2026, 4, 2)), -10);
}

proptest! {
    #[test]
    fn dos5_working_days_between_counts_what_add_working_days_adds(
        offset in 0i64..(41 * 366),
        n in 0u32..300,
    ) {
        let start = date(1995, 1, 1).checked_add(jiff::Span::new().days(offset)).unwrap();
        prop_assume!(start.year() <= 2035);
        let due = add_working_days(start, n);
        prop_assert!(is_working_day(due));
        prop_assert!(due >= start);
        if n > 0 {
            prop_assert!(due > start);
            prop_assert_eq!(working_days_between(start, due), i64::from(n));
            prop_assert_eq!(working_days_between(due, start), -i64::from(n));
        } else {
            prop_assert!(working_days_between(start, due) <= 1);
        }
    }
}
