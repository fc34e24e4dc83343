//! An application's milestones (DOS-5): the preparation call, the product demonstration call, the agreed go-live
//! date and the submission for formal review, with the dates that follow from them. Onboarding "can be quite
//! long", so both sides see the same dates, worked out here from the dates given and the calendar of England.

use jiff::ToSpan;
use jiff::civil::{Date, Weekday};
use serde::{Deserialize, Serialize};

use crate::calendar::bank_holidays::{add_working_days, is_bank_holiday};

/// The dates agreed with the supplier; each is set when it is known.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestones {
    pub preparation_call: Option<Date>,
    pub demonstration_call: Option<Date>,
    pub go_live: Option<Date>,
    /// When the last section was submitted for the formal review.
    pub submitted_for_review: Option<Date>,
}

/// Months from the demonstration call to the nominal go-live.
pub const NOMINAL_GO_LIVE_MONTHS: i8 = 4;
/// Weeks the formal review is expected to take once everything is submitted.
pub const FORMAL_REVIEW_WEEKS: i8 = 3;

/// Why a go-live date was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MilestoneError {
    #[error("{0} is a bank holiday in England: choose a working day for the go-live")]
    GoLiveOnBankHoliday(String),
    #[error("the go-live must come after the demonstration call on {0}")]
    GoLiveBeforeDemonstration(String),
}

/// A date that is allowed but worth a second look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MilestoneWarning {
    /// The go-live falls on a Saturday or Sunday, when the provider's service desk is closed.
    GoLiveOnWeekend,
}

impl MilestoneWarning {
    /// The warning about `go_live`, in words both sides read: "Saturday 9 January 2027 is a weekend: …".
    pub fn message(&self, go_live: Date) -> String {
        match self {
            Self::GoLiveOnWeekend => format!(
                "{} is a weekend: the service desk is closed then, so a go-live that day has no support until \
                 the next working day",
                go_live.strftime("%A %-d %B %Y")
            ),
        }
    }
}

impl Milestones {
    /// Four months after the demonstration call (the same day of the month, or the month's last day).
    pub fn nominal_go_live(&self) -> Option<Date> {
        self.demonstration_call.and_then(|call| call.checked_add(NOMINAL_GO_LIVE_MONTHS.months()).ok())
    }

    /// Three weeks after everything was submitted.
    pub fn formal_review_expected_end(&self) -> Option<Date> {
        self.submitted_for_review.and_then(|submitted| submitted.checked_add(FORMAL_REVIEW_WEEKS.weeks()).ok())
    }

    /// The warning about the agreed go-live, if it has one (a weekend), in words.
    pub fn go_live_warning(&self) -> Option<String> {
        let go_live = self.go_live?;
        self.check_go_live(go_live).ok().flatten().map(|warning| warning.message(go_live))
    }

    /// Checks a go-live date before it is agreed: refused on a bank holiday in England or before the
    /// demonstration call; a weekend is allowed with a warning.
    pub fn check_go_live(&self, go_live: Date) -> Result<Option<MilestoneWarning>, MilestoneError> {
        if let Some(call) = self.demonstration_call
            && go_live <= call
        {
            return Err(MilestoneError::GoLiveBeforeDemonstration(crate::agreement::long_date(call)));
        }
        if is_bank_holiday(go_live) {
            return Err(MilestoneError::GoLiveOnBankHoliday(crate::agreement::long_date(go_live)));
        }
        let weekend = matches!(go_live.weekday(), Weekday::Saturday | Weekday::Sunday);
        Ok(weekend.then_some(MilestoneWarning::GoLiveOnWeekend))
    }
}

/// The date the provider's answer is due: `target` working days in England after `since` (DOS-5: a flow's
/// target answer time, such as "contact within 10 working days").
pub fn answer_due(since: Date, target_working_days: u32) -> Date {
    add_working_days(since, target_working_days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn dos5_the_nominal_go_live_is_four_months_after_the_demonstration_call() {
        let milestones = Milestones { demonstration_call: Some(date(2026, 10, 31)), ..Milestones::default() };
        assert_eq!(milestones.nominal_go_live(), Some(date(2027, 2, 28)), "the month's last day");
        let milestones = Milestones { demonstration_call: Some(date(2026, 12, 3)), ..Milestones::default() };
        assert_eq!(milestones.nominal_go_live(), Some(date(2027, 4, 3)));
        assert_eq!(Milestones::default().nominal_go_live(), None);
    }

    #[test]
    fn dos5_the_formal_review_is_expected_to_end_three_weeks_after_everything_was_submitted() {
        let milestones = Milestones { submitted_for_review: Some(date(2026, 12, 14)), ..Milestones::default() };
        assert_eq!(milestones.formal_review_expected_end(), Some(date(2027, 1, 4)));
    }

    #[test]
    fn dos5_a_go_live_on_a_bank_holiday_is_refused_and_on_a_weekend_warned() {
        let milestones = Milestones { demonstration_call: Some(date(2026, 9, 1)), ..Milestones::default() };
        assert_eq!(
            milestones.check_go_live(date(2026, 12, 28)).unwrap_err().to_string(),
            "28 December 2026 is a bank holiday in England: choose a working day for the go-live"
        );
        assert_eq!(milestones.check_go_live(date(2027, 1, 9)), Ok(Some(MilestoneWarning::GoLiveOnWeekend)));
        assert_eq!(milestones.check_go_live(date(2027, 1, 11)), Ok(None));
        let agreed = Milestones { go_live: Some(date(2027, 1, 9)), ..milestones.clone() };
        assert_eq!(
            agreed.go_live_warning().as_deref(),
            Some(
                "Saturday 9 January 2027 is a weekend: the service desk is closed then, so a go-live that day has \
                 no support until the next working day"
            )
        );
        assert!(matches!(
            milestones.check_go_live(date(2026, 9, 1)),
            Err(MilestoneError::GoLiveBeforeDemonstration(_))
        ));
    }

    #[test]
    fn dos5_an_answer_due_in_working_days_skips_easter_and_christmas() {
        assert_eq!(answer_due(date(2026, 4, 2), 10), date(2026, 4, 20), "Good Friday and Easter Monday skipped");
        assert_eq!(answer_due(date(2026, 12, 23), 3), date(2026, 12, 30), "25 and 28 December skipped");
    }
}
