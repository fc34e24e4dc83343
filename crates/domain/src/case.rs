//! Cases (CASE-1, CASE-2): the conversation between a connecting party and the agreement team about one
//! agreement.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::agreement::AgreementId;
use crate::{CaseNumber, OrganisationId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    Open,
    AwaitingInfo,
    Resolved,
    Closed,
}

impl CaseState {
    /// Every state, in the order a case usually moves through them.
    pub const ALL: [Self; 4] = [Self::Open, Self::AwaitingInfo, Self::Resolved, Self::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::AwaitingInfo => "awaiting_info",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::AwaitingInfo => "Awaiting Info",
            Self::Resolved => "Resolved",
            Self::Closed => "Closed",
        }
    }
}

impl std::str::FromStr for CaseState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|state| state.as_str() == s).ok_or_else(|| format!("unknown case state {s:?}"))
    }
}

/// Internal notes are for provider staff only; the connecting party never sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Public,
    Internal,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Internal => "internal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseActivity {
    pub seq: i64,
    pub at: Timestamp,
    pub author: String,
    pub visibility: Visibility,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub number: CaseNumber,
    pub agreement_id: AgreementId,
    pub organisation_id: OrganisationId,
    pub state: CaseState,
    pub subject: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub activity: Vec<CaseActivity>,
    pub watchers: Vec<String>,
}

/// The longest message on a case, and the longest query (CA-6), in characters.
pub const MAX_MESSAGE_CHARS: usize = 10_000;

/// Something a person asks to do to a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseCommand {
    /// A reply (public) or, for staff, an internal note.
    Comment { body: String, visibility: Visibility },
    /// Adds an extra address to the watch list.
    Watch { email: crate::EmailAddress },
    /// Provider staff move the case to another state.
    SetState { state: CaseState },
}

/// Why a case command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseRuleError {
    /// Someone outside the case's organisation who is not provider staff: the case is not revealed.
    #[error("case not found")]
    NotVisible,
    #[error("only provider staff may add internal notes")]
    InternalNoteByParty,
    #[error("viewers can read cases but not write in them; ask an owner or admin of your organisation")]
    ViewerReadOnly,
    #[error("only provider staff change a case's state")]
    StaffOnly,
    /// SPEC §1: the agreement team answers cases; other provider staff read them.
    #[error("only the agreement team writes in cases; other provider staff can read them")]
    AgreementTeamOnly,
    #[error("this case is closed: to ask something else, raise a new query from the agreement's page")]
    Closed,
    #[error("write a message")]
    Empty,
    #[error("the message must be 10,000 characters or fewer")]
    TooLong,
}

impl CaseRuleError {
    /// A stable name for the rule, for the JSON API and the logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotVisible => "case_not_visible",
            Self::InternalNoteByParty => "internal_note_by_party",
            Self::ViewerReadOnly => "viewer_read_only",
            Self::StaffOnly => "staff_only",
            Self::AgreementTeamOnly => "agreement_team_only",
            Self::Closed => "case_closed",
            Self::Empty => "empty_message",
            Self::TooLong => "message_too_long",
        }
    }
}

/// Who hears of a change to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseAudience {
    /// The connecting party: its onboarding contacts, its delivery-notice mailbox and the watch list.
    ConnectingParty,
    /// The provider's service desk and the watch list.
    ProviderAndWatchers,
}

/// What to write for an accepted case command; an empty decision (the state it already has) changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CaseDecision {
    /// The audit log's name for the change.
    pub action: &'static str,
    /// The message to add, trimmed.
    pub activity: Option<(Visibility, String)>,
    /// The state the case moves to.
    pub state: Option<CaseState>,
    pub watcher: Option<crate::EmailAddress>,
    pub notify: Option<CaseAudience>,
}

impl CaseDecision {
    pub fn is_no_op(&self) -> bool {
        self.activity.is_none() && self.state.is_none() && self.watcher.is_none()
    }
}

/// The person asking, as the case rules see them.
fn standing(case: &Case, user: &crate::User) -> Result<Standing, CaseRuleError> {
    if user.has_staff_role(crate::StaffRole::AgreementTeam) {
        return Ok(Standing::Staff);
    }
    if user.is_staff() {
        return Ok(Standing::OtherStaff);
    }
    match &user.membership {
        Some(m) if m.organisation_id == case.organisation_id && m.role == crate::TeamRole::Viewer => {
            Ok(Standing::Viewer)
        }
        Some(m) if m.organisation_id == case.organisation_id => Ok(Standing::Party),
        _ => Err(CaseRuleError::NotVisible),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// The agreement team, who answer cases.
    Staff,
    /// Provider staff in other roles: they read every case and write in none.
    OtherStaff,
    Party,
    Viewer,
}

/// Whether `user` may read `case` at all (staff: every case; a connecting party: its organisation's).
pub fn may_read(case: &Case, user: &crate::User) -> bool {
    standing(case, user).is_ok()
}

/// Decides `command` by `user` on `case` (CASE-1, CASE-2). Pure: the service writes the decision.
pub fn decide(case: &Case, user: &crate::User, command: CaseCommand) -> Result<CaseDecision, CaseRuleError> {
    let standing = standing(case, user)?;
    if standing == Standing::OtherStaff {
        return Err(CaseRuleError::AgreementTeamOnly);
    }
    match command {
        CaseCommand::Comment { body, visibility } => {
            if visibility == Visibility::Internal && standing != Standing::Staff {
                return Err(CaseRuleError::InternalNoteByParty);
            }
            // A closed case is finished: the team reopens it to write again; a party raises a new query.
            if case.state == CaseState::Closed {
                return Err(CaseRuleError::Closed);
            }
            if standing == Standing::Viewer {
                return Err(CaseRuleError::ViewerReadOnly);
            }
            let body = body.trim();
            if body.is_empty() {
                return Err(CaseRuleError::Empty);
            }
            if body.chars().count() > MAX_MESSAGE_CHARS {
                return Err(CaseRuleError::TooLong);
            }
            let staff = standing == Standing::Staff;
            Ok(CaseDecision {
                action: match visibility {
                    Visibility::Public => "case_public",
                    Visibility::Internal => "case_internal",
                },
                activity: Some((visibility, body.to_owned())),
                // A reply from the connecting party reopens a case that was waiting for them.
                state: (!staff && case.state == CaseState::AwaitingInfo).then_some(CaseState::Open),
                watcher: None,
                notify: match (visibility, staff) {
                    (Visibility::Internal, _) => None,
                    (Visibility::Public, true) => Some(CaseAudience::ConnectingParty),
                    (Visibility::Public, false) => Some(CaseAudience::ProviderAndWatchers),
                },
            })
        }
        CaseCommand::Watch { email } => {
            if standing == Standing::Viewer {
                return Err(CaseRuleError::ViewerReadOnly);
            }
            Ok(CaseDecision { action: "case_watch", watcher: Some(email), ..CaseDecision::default() })
        }
        CaseCommand::SetState { state } => {
            if standing != Standing::Staff {
                return Err(CaseRuleError::StaffOnly);
            }
            if state == case.state {
                return Ok(CaseDecision { action: "case_state", ..CaseDecision::default() });
            }
            Ok(CaseDecision {
                action: "case_state",
                state: Some(state),
                notify: Some(CaseAudience::ConnectingParty),
                ..CaseDecision::default()
            })
        }
    }
}

/// What a case page offers `user`: each is exactly what [`decide`] would accept (a dry run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CaseActions {
    pub reply: bool,
    pub internal_note: bool,
    pub watch: bool,
    pub change_state: bool,
}

pub fn allowed(case: &Case, user: &crate::User) -> CaseActions {
    let accepts = |command: CaseCommand| decide(case, user, command).is_ok();
    let comment = |visibility| CaseCommand::Comment { body: "a message".into(), visibility };
    let watcher = crate::EmailAddress::parse("watcher@example.org");
    CaseActions {
        reply: accepts(comment(Visibility::Public)),
        internal_note: accepts(comment(Visibility::Internal)),
        watch: watcher.is_ok_and(|email| accepts(CaseCommand::Watch { email })),
        change_state: CaseState::ALL.into_iter().any(|state| accepts(CaseCommand::SetState { state })),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{EmailAddress, Membership, PersonName, StaffRole, TeamRole, User, UserId};

    fn organisation(n: u128) -> OrganisationId {
        OrganisationId(uuid::Uuid::from_u128(n))
    }

    fn case(state: CaseState) -> Case {
        let at: Timestamp = "2027-01-04T10:00:00Z".parse().unwrap_or_default();
        Case {
            number: crate::CaseNumber::from_sequence(1).unwrap_or_else(|_| unreachable!()),
            agreement_id: AgreementId(uuid::Uuid::from_u128(9)),
            organisation_id: organisation(1),
            state,
            subject: "Query".into(),
            created_at: at,
            updated_at: at,
            activity: Vec::new(),
            watchers: Vec::new(),
        }
    }

    /// Staff (with or without the agreement team), owner/admin/viewer of the case's organisation, a member of
    /// another organisation, and someone in none.
    fn person(kind: u8) -> User {
        let membership =
            |org, role| Some(Membership { organisation_id: organisation(org), role, onboarding_contact: false });
        let (staff_roles, membership) = match kind % 7 {
            0 => (vec![StaffRole::AgreementTeam], None),
            1 => (vec![StaffRole::Reviewer], None),
            2 => (Vec::new(), membership(1, TeamRole::Owner)),
            3 => (Vec::new(), membership(1, TeamRole::Admin)),
            4 => (Vec::new(), membership(1, TeamRole::Viewer)),
            5 => (Vec::new(), membership(2, TeamRole::Owner)),
            _ => (Vec::new(), None),
        };
        User {
            id: UserId(uuid::Uuid::from_u128(u128::from(kind))),
            email: EmailAddress::parse("someone@example.org").unwrap_or_else(|_| unreachable!()),
            full_name: PersonName::parse("Some One").unwrap_or_else(|_| unreachable!()),
            password_hash: None,
            staff_roles,
            membership,
            created_at: Timestamp::UNIX_EPOCH,
            email_verified_at: None,
        }
    }

    fn state() -> impl Strategy<Value = CaseState> {
        proptest::sample::select(CaseState::ALL.to_vec())
    }

    proptest! {
        /// CASE-1: a case page offers exactly what `decide` accepts, for every state and kind of person, whatever
        /// the (valid) message or address.
        #[test]
        fn a_case_page_offers_exactly_what_decide_accepts(
            current in state(), target in state(), kind in 0_u8..7, body in "[a-zA-Z ]{0,20}[a-z]", local in "[a-z]{1,10}",
        ) {
            let case = case(current);
            let user = person(kind);
            let offered = allowed(&case, &user);
            let comment = |visibility| CaseCommand::Comment { body: body.clone(), visibility };
            prop_assert_eq!(offered.reply, decide(&case, &user, comment(Visibility::Public)).is_ok());
            prop_assert_eq!(offered.internal_note, decide(&case, &user, comment(Visibility::Internal)).is_ok());
            let email = EmailAddress::parse(&format!("{local}@example.org")).unwrap_or_else(|_| unreachable!());
            prop_assert_eq!(offered.watch, decide(&case, &user, CaseCommand::Watch { email }).is_ok());
            let moved = decide(&case, &user, CaseCommand::SetState { state: target });
            prop_assert!(!offered.change_state || moved.is_ok());
            prop_assert_eq!(may_read(&case, &user), !matches!(kind % 7, 5 | 6));
        }
    }

    #[test]
    fn the_rules_of_a_case() {
        let staff = person(0);
        let viewer = person(4);
        let owner = person(2);
        let outsider = person(5);
        let waiting = case(CaseState::AwaitingInfo);
        let reply = |body: &str| CaseCommand::Comment { body: body.into(), visibility: Visibility::Public };
        let note = CaseCommand::Comment { body: "internal".into(), visibility: Visibility::Internal };
        assert_eq!(decide(&waiting, &outsider, reply("hi")), Err(CaseRuleError::NotVisible));
        assert_eq!(decide(&waiting, &viewer, reply("hi")), Err(CaseRuleError::ViewerReadOnly));
        assert_eq!(decide(&waiting, &owner, note.clone()), Err(CaseRuleError::InternalNoteByParty));
        assert_eq!(decide(&waiting, &owner, reply("   ")), Err(CaseRuleError::Empty));
        assert_eq!(decide(&waiting, &owner, reply(&"x".repeat(MAX_MESSAGE_CHARS + 1))), Err(CaseRuleError::TooLong));
        let party_reply = decide(&waiting, &owner, reply(" Here it is ")).unwrap_or_default();
        assert_eq!(party_reply.activity, Some((Visibility::Public, "Here it is".into())));
        assert_eq!(party_reply.state, Some(CaseState::Open), "a reply reopens a case awaiting the party");
        assert_eq!(party_reply.notify, Some(CaseAudience::ProviderAndWatchers));
        let staff_note = decide(&waiting, &staff, note).unwrap_or_default();
        assert_eq!((staff_note.state, staff_note.notify), (None, None), "internal notes are told to nobody");
        assert_eq!(
            decide(&waiting, &owner, CaseCommand::SetState { state: CaseState::Closed }),
            Err(CaseRuleError::StaffOnly)
        );
        assert!(
            decide(&waiting, &staff, CaseCommand::SetState { state: CaseState::AwaitingInfo })
                .is_ok_and(|d| d.is_no_op())
        );
        assert_eq!(allowed(&waiting, &viewer), CaseActions::default());
    }

    #[test]
    fn case1_only_the_agreement_team_writes_and_a_closed_case_takes_no_more_messages() {
        let (team, reviewer, owner) = (person(0), person(1), person(2));
        let open = case(CaseState::Open);
        let reply = CaseCommand::Comment { body: "hi".into(), visibility: Visibility::Public };
        assert!(may_read(&open, &reviewer), "other provider staff read every case");
        assert_eq!(decide(&open, &reviewer, reply.clone()), Err(CaseRuleError::AgreementTeamOnly));
        let close = CaseCommand::SetState { state: CaseState::Closed };
        assert_eq!(decide(&open, &reviewer, close), Err(CaseRuleError::AgreementTeamOnly));
        assert_eq!(allowed(&open, &reviewer), CaseActions::default());

        let closed = case(CaseState::Closed);
        assert_eq!(decide(&closed, &owner, reply.clone()), Err(CaseRuleError::Closed));
        assert_eq!(decide(&closed, &team, reply), Err(CaseRuleError::Closed));
        let reopen = decide(&closed, &team, CaseCommand::SetState { state: CaseState::Open }).unwrap_or_default();
        assert_eq!(reopen.state, Some(CaseState::Open), "the team reopens a closed case to write in it again");
        assert!(!allowed(&closed, &owner).reply && allowed(&closed, &team).change_state);
    }
}
