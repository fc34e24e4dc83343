//! Civil time in the provider's time zone. Review periods are counted in Europe/London calendar days, so a
//! deadline keeps its wall-clock time across a change of clocks: an agreement created at 10:00 on 1 March has
//! its 90-day deadline at 10:00 London time on 30 May, although one of those days was 23 hours long.

pub mod bank_holidays;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ToSpan};

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

#[cfg(test)]
mod tests {
    use super::*;

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
