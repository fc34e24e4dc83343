//! Civil time in the provider's time zone. Review periods are counted in Europe/London calendar days, so a
//! deadline keeps its wall-clock time across a change of clocks: an agreement created at 10:00 on 1 March has
//! its 90-day deadline at 10:00 London time on 30 May, although one of those days was 23 hours long.

pub mod bank_holidays;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp, ToSpan, Unit};

/// The zone that defines "a day" for every rule in Onramp. The tz database is compiled in, so this does
/// no I/O and behaves the same on every machine.
pub fn london() -> TimeZone {
    TimeZone::get("Europe/London").unwrap_or(TimeZone::UTC)
}

/// `start` plus `days` London calendar days, at the same London wall-clock time.
pub fn add_days(start: Timestamp, days: i64) -> Timestamp {
    add_span(start, days.days())
}

fn add_span(start: Timestamp, span: Span) -> Timestamp {
    let zoned = start.to_zoned(london());
    zoned.checked_add(span).map(|z| z.timestamp()).unwrap_or(start)
}

/// The London calendar date of an instant ("accepted on", "start date").
pub fn date_of(instant: Timestamp) -> Date {
    instant.to_zoned(london()).date()
}

/// The instant a London calendar date begins (an end date takes effect then).
pub fn start_of(date: Date) -> Timestamp {
    date.to_zoned(london()).map(|z| z.timestamp()).unwrap_or(Timestamp::MAX)
}

/// A date as every page writes it: "20 May 2027". The one date format of the portal.
pub fn long_date(date: Date) -> String {
    date.strftime("%-d %B %Y").to_string()
}

/// An instant as every page writes it, in London time with GMT or BST: "3 December 2026 14:23 GMT",
/// "20 May 2027 09:15 BST". The one time format of the portal.
pub fn long_time(instant: Timestamp) -> String {
    instant.to_zoned(london()).strftime("%-d %B %Y %H:%M %Z").to_string()
}

/// The time from `from` to `to` as the rules count it: whole London calendar days (each at the same wall-clock
/// time, so a day across a clock change is 23 or 25 hours), then what is left over as an exact span (hours and
/// smaller). Zero when `to` is not after `from`.
fn calendar_span(from: Timestamp, to: Timestamp) -> Span {
    if to <= from {
        return Span::new();
    }
    let (from, to) = (from.to_zoned(london()), to.to_zoned(london()));
    from.until((Unit::Day, &to)).unwrap_or_else(|_| Span::new())
}

/// Remaining time from `from` to `to` in London calendar days and whole hours (minutes dropped), as the timer
/// ledger and the agreement page both show it: 30 days from 10:00 on 10 March to 10:00 on 9 April are
/// "30 days 0 hours" although the clocks went forward in between (719 hours).
pub fn days_and_hours(from: Timestamp, to: Timestamp) -> (i64, i64) {
    let span = calendar_span(from, to);
    (i64::from(span.get_days()), i64::from(span.get_hours()))
}

/// [`days_and_hours`] in words: "29 days 23 hours", "1 day 1 hour".
pub fn remaining_text(from: Timestamp, to: Timestamp) -> String {
    let (days, hours) = days_and_hours(from, to);
    let plural = |n: i64, one: &str, many: &str| if n == 1 { format!("{n} {one}") } else { format!("{n} {many}") };
    format!("{} {}", plural(days, "day", "days"), plural(hours, "hour", "hours"))
}

/// Whole London calendar days from `from` to `to`, a part-day counting as a whole one; never negative. The
/// "days left" of the agreement page and the staff list: the same count as [`days_and_hours`], rounded up.
pub fn whole_days_until(from: Timestamp, to: Timestamp) -> i64 {
    let span = calendar_span(from, to);
    let days = i64::from(span.get_days());
    let part_day = span.get_hours() != 0
        || span.get_minutes() != 0
        || span.get_seconds() != 0
        || span.get_milliseconds() != 0
        || span.get_microseconds() != 0
        || span.get_nanoseconds() != 0;
    if part_day { days + 1 } else { days }
}

/// Where a paused period ends when it continues at `resumed`: the remaining time kept at the pause
/// (`remaining` from `since`), counted in London calendar days and the exact time left over, added to `resumed`
/// the same way. So "12 days 3 hours" left at the pause are "12 days 3 hours" left at the resume, whichever
/// clock changes fall in between.
pub fn continue_remaining(since: Timestamp, remaining: SignedDuration, resumed: Timestamp) -> Timestamp {
    let end = since.saturating_add(remaining).unwrap_or(since);
    let span = calendar_span(since, end);
    add_span(resumed, span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_shown_in_london_time_with_gmt_or_bst() {
        let winter: Timestamp = "2026-12-03T14:23:00Z".parse().unwrap();
        assert_eq!(long_time(winter), "3 December 2026 14:23 GMT");
        let summer: Timestamp = "2027-05-20T08:15:00Z".parse().unwrap();
        assert_eq!(long_time(summer), "20 May 2027 09:15 BST");
        // Just after midnight in summer London is the next day already.
        let midnight: Timestamp = "2027-06-30T23:30:00Z".parse().unwrap();
        assert_eq!(long_time(midnight), "1 July 2027 00:30 BST");
        assert_eq!(long_date(Date::new(2027, 5, 20).unwrap()), "20 May 2027");
    }

    #[test]
    fn remaining_time_counts_london_days_across_the_clock_changes() {
        // Spring: 30 London days from 10:00 GMT on 10 March 2027 end at 10:00 BST on 9 April (719 hours).
        let start: Timestamp = "2027-03-10T10:00:00Z".parse().unwrap();
        let deadline = add_days(start, 30);
        assert_eq!(deadline.duration_since(start), SignedDuration::from_hours(719));
        assert_eq!(days_and_hours(start, deadline), (30, 0));
        assert_eq!(remaining_text(start, deadline), "30 days 0 hours");
        assert_eq!(whole_days_until(start, deadline), 30);
        // An hour later: 29 days 23 hours, which a page rounds up to 30 days left.
        let later = start.checked_add(SignedDuration::from_hours(1)).unwrap();
        assert_eq!(remaining_text(later, deadline), "29 days 23 hours");
        assert_eq!(whole_days_until(later, deadline), 30);
        // Autumn: 30 London days from 13:30 BST on 10 October 2026 are 721 hours.
        let autumn: Timestamp = "2026-10-10T12:30:00Z".parse().unwrap();
        let end = add_days(autumn, 30);
        assert_eq!(end.duration_since(autumn), SignedDuration::from_hours(721));
        assert_eq!(remaining_text(autumn, end), "30 days 0 hours");
        assert_eq!(remaining_text(end, autumn), "0 days 0 hours");
        assert_eq!(remaining_text(start, start.checked_add(SignedDuration::from_hours(25)).unwrap()), "1 day 1 hour");
    }

    #[test]
    fn a_resumed_period_keeps_the_days_and_hours_left_at_the_pause() {
        // Paused in March (GMT) with 20 days 5 hours left up to a deadline in BST, resumed in May.
        let since: Timestamp = "2027-03-20T09:00:00Z".parse().unwrap();
        let deadline = add_span(since, 20.days().hours(5));
        let remaining = deadline.duration_since(since);
        assert_eq!(remaining_text(since, deadline), "20 days 5 hours");
        let resumed: Timestamp = "2027-05-02T09:00:00Z".parse().unwrap();
        let new_deadline = continue_remaining(since, remaining, resumed);
        assert_eq!(remaining_text(resumed, new_deadline), "20 days 5 hours");
        assert_eq!(new_deadline.to_string(), "2027-05-22T14:00:00Z");
    }

    #[test]
    fn ninety_days_across_the_spring_change_keep_the_wall_clock_time() {
        let created: Timestamp = "2027-03-01T10:00:00Z".parse().unwrap(); // 10:00 GMT
        let deadline = add_days(created, 90);
        // 30 May 2027 is in BST: 10:00 London is 09:00 UTC, 90 days minus one hour after creation.
        assert_eq!(deadline.to_string(), "2027-05-30T09:00:00Z");
        assert_eq!(date_of(deadline).to_string(), "2027-05-30");
    }

    #[test]
    fn thirty_days_across_the_autumn_change_keep_the_wall_clock_time() {
        let start: Timestamp = "2026-10-10T12:30:00Z".parse().unwrap(); // 13:30 BST
        assert_eq!(add_days(start, 30).to_string(), "2026-11-09T13:30:00Z"); // 13:30 GMT
    }

    #[test]
    fn days_start_at_london_midnight() {
        let date = Date::new(2026, 7, 1).unwrap();
        assert_eq!(start_of(date).to_string(), "2026-06-30T23:00:00Z");
        assert_eq!(date_of("2026-06-30T23:30:00Z".parse().unwrap()), date);
    }
}
