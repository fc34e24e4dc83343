//! The clock interface. Rules never read the system time themselves: the edge (a request handler, the job
//! worker) reads a [`Clock`] and passes `now` in, so tests and demo mode can move time at will.

use jiff::Timestamp;

/// A source of the current instant. Production uses the system clock; tests and demo mode use clocks that
/// can be moved forward.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
}
