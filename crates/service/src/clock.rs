//! Clock implementations. Only [`SystemClock`] reads the operating system's time; the others exist so tests
//! can jump 90 days in a millisecond and a demo can show what happens next week.

use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};
use onramp_domain::Clock;

/// The real time, for production.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still until a test moves it.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self { now: Mutex::new(start) }
    }

    pub fn set(&self, now: Timestamp) {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = now;
    }

    pub fn advance(&self, by: SignedDuration) {
        let mut now = self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *now = now.saturating_add(by).unwrap_or(*now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Demo mode's clock: the real time plus an offset that staff may move forward (never back, so timers that
/// fired stay fired).
#[derive(Debug, Default)]
pub struct DemoClock {
    offset: Mutex<SignedDuration>,
}

impl DemoClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves demo time forward by `by`; a negative duration is ignored.
    pub fn advance(&self, by: SignedDuration) {
        if by.is_negative() {
            return;
        }
        let mut offset = self.offset.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *offset = offset.saturating_add(by);
    }

    /// Sets the offset read from the database; never moves time back.
    pub fn catch_up(&self, offset: SignedDuration) {
        let mut current = self.offset.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if offset > *current {
            *current = offset;
        }
    }

    pub fn offset(&self) -> SignedDuration {
        *self.offset.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for DemoClock {
    fn now(&self) -> Timestamp {
        let now = Timestamp::now();
        now.saturating_add(self.offset()).unwrap_or(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let start: Timestamp = "2026-11-21T09:00:00Z".parse().unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(SignedDuration::from_hours(24 * 90));
        assert_eq!(clock.now().to_string(), "2027-02-19T09:00:00Z");
    }

    #[test]
    fn the_demo_clock_never_goes_back() {
        let clock = DemoClock::new();
        clock.advance(SignedDuration::from_hours(48));
        clock.advance(SignedDuration::from_hours(-100));
        assert_eq!(clock.offset(), SignedDuration::from_hours(48));
        assert!(clock.now() > Timestamp::now().saturating_add(SignedDuration::from_hours(47)).unwrap());
    }
}
