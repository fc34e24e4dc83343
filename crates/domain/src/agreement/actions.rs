//! "What may this person do to this agreement now?", answered by the state machine itself. Every button, action
//! list and preview asks [`allowed`], which dry-runs [`decide`] for each action, so a page can never offer what
//! the machine would refuse, nor hide what it would accept.

use jiff::Timestamp;

use super::machine::{Command, LifecycleError, NewAgreement, Rules, TermsText, decide};
use super::{Actor, AgreementId, Chain, Contact};
use crate::calendar::date_of;
use crate::{CaseNumber, StaffRole, User};

/// An action on one agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// CA-3: an onboarding contact accepts a new contract.
    Accept,
    /// CA-6: an onboarding contact asks about a terms change.
    RaiseQuery,
    /// CA-2: the agreement team issues a prepared agreement.
    Issue,
    /// CA-6: the agreement team pauses, resumes or resets the 30-day timer.
    Pause,
    Resume,
    Reset,
    /// CA-8: the agreement team agrees an end date for the Active agreement.
    Terminate,
}

impl Action {
    pub const ALL: [Self; 7] =
        [Self::Accept, Self::RaiseQuery, Self::Issue, Self::Pause, Self::Resume, Self::Reset, Self::Terminate];

    /// Whether the action is the agreement team's (the others are the connecting party's).
    pub fn is_agreement_team(self) -> bool {
        !matches!(self, Self::Accept | Self::RaiseQuery)
    }
}

impl User {
    /// The actor this user is, for the audit log and the ledger.
    pub fn actor(&self) -> Actor {
        Actor::User { id: self.id, name: self.full_name.to_string() }
    }

    /// This user as a connecting party's contact, as acceptance and queries need them.
    pub fn contact(&self) -> Contact {
        Contact {
            user: self.id,
            name: self.full_name.to_string(),
            organisation: self.membership.as_ref().map(|m| m.organisation_id),
            onboarding_contact: self.membership.as_ref().is_some_and(|m| m.onboarding_contact),
        }
    }
}

/// The agreement team's actor for `user`, or the named refusal: who may act for the provider on agreements.
pub fn agreement_team_actor(user: &User) -> Result<Actor, LifecycleError> {
    if user.has_staff_role(StaffRole::AgreementTeam) { Ok(user.actor()) } else { Err(LifecycleError::NotAgreementTeam) }
}

/// The command `user` would send for `action` on `agreement`, with stand-in values where the real ones come
/// from a form (the query text, the end date) or from the store (a new case number). The stand-ins are ones
/// the machine accepts, so the dry run turns only on the agreement, the person and the time.
fn sample_command(
    chain: &Chain,
    agreement: AgreementId,
    action: Action,
    user: &User,
    now: Timestamp,
) -> Result<Command, LifecycleError> {
    if action.is_agreement_team() {
        let actor = agreement_team_actor(user)?;
        return Ok(match action {
            Action::Issue => Command::Issue { agreement, recipients: Vec::new(), actor },
            Action::Pause => Command::Pause { agreement, actor },
            Action::Resume => Command::Resume { agreement, actor },
            Action::Reset => Command::Reset { agreement, actor },
            // Termination is of the organisation's Active agreement; offered on that agreement's page only.
            _ if chain.active.as_ref().is_none_or(|a| a.id != agreement) => {
                return Err(LifecycleError::NoActiveAgreement);
            }
            _ => Command::Terminate { end_date: date_of(now), actor },
        });
    }
    let contact = user.contact();
    let stand_in_case = CaseNumber::from_sequence(1).map_err(|_| LifecycleError::UnknownAgreement)?;
    Ok(match action {
        Action::Accept => {
            let terms = chain.find(agreement).map_or(0, |a| a.terms_version);
            let text = TermsText { version: terms, sha256: String::new() };
            Command::Accept { agreement, contact, shown: text.clone(), current: text }
        }
        _ => Command::RaiseQuery { agreement, contact, description: "A question".into(), case: stand_in_case },
    })
}

/// Whether `decide` would accept `action` by `user` on `agreement` of `chain` at `now`.
pub fn permits(
    chain: &Chain,
    agreement: AgreementId,
    action: Action,
    user: &User,
    now: Timestamp,
    rules: &Rules,
) -> bool {
    sample_command(chain, agreement, action, user, now).is_ok_and(|command| decide(chain, command, now, rules).is_ok())
}

/// Every action `user` may take on `agreement` of `chain` at `now`, in [`Action::ALL`] order.
pub fn allowed(chain: &Chain, agreement: AgreementId, user: &User, now: Timestamp, rules: &Rules) -> Vec<Action> {
    Action::ALL.into_iter().filter(|action| permits(chain, agreement, *action, user, now, rules)).collect()
}

/// A stand-in for the agreement a dry run would create; the real one is allocated inside the unit of work.
fn stand_in(
    now: Timestamp,
    api_products: Vec<crate::ApiProduct>,
    terms_version: u32,
) -> Result<NewAgreement, LifecycleError> {
    let number = crate::AgreementNumber::from_sequence(1).map_err(|_| LifecycleError::UnknownAgreement)?;
    Ok(NewAgreement { id: AgreementId::new_at(now), number, api_products, terms_version })
}

/// Whether publishing `terms_version` would give this organisation a new or rebased draft (CA-5): the terms
/// preview and the publication ask this before locking the organisation, then decide again under the lock.
pub fn uplift_permitted(
    chain: &Chain,
    terms_version: u32,
    now: Timestamp,
    rules: &Rules,
) -> Result<(), LifecycleError> {
    let new = stand_in(now, Vec::new(), terms_version)?;
    let actor = Actor::System { process: "dry run".into() };
    decide(chain, Command::Uplift { new, recipients: Vec::new(), actor }, now, rules).map(|_| ())
}

/// Whether a first digital contract on `terms_version` may be issued to this organisation, whose Active
/// agreement must then be on paper (CA-12).
pub fn legacy_uplift_permitted(
    chain: &Chain,
    terms_version: u32,
    now: Timestamp,
    rules: &Rules,
) -> Result<(), LifecycleError> {
    let products = chain.active.as_ref().map(|a| a.api_products.clone()).unwrap_or_default();
    let new = stand_in(now, products, terms_version)?;
    let case = CaseNumber::from_sequence(1).map_err(|_| LifecycleError::UnknownAgreement)?;
    let actor = Actor::System { process: "dry run".into() };
    decide(chain, Command::Create { new, case, origin: super::Origin::LegacyUplift, actor }, now, rules).map(|_| ())
}
