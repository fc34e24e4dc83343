//! People and their roles (SPEC §1).

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::organisation::time_ordered_uuid;
use crate::validation::single_line;
use crate::{EmailAddress, OrganisationId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub Uuid);

impl UserId {
    pub fn new_at(now: Timestamp) -> Self {
        Self(time_ordered_uuid(now))
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A person's full name as they want it shown, e.g. on an accepted agreement ("accepted by").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PersonNameError(String);

impl PersonName {
    pub const MAX: usize = 120;

    pub fn parse(raw: &str) -> Result<Self, PersonNameError> {
        single_line(raw, "full name", Self::MAX).map(Self).map_err(PersonNameError)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PersonName {
    type Error = PersonNameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PersonName> for String {
    fn from(value: PersonName) -> Self {
        value.0
    }
}

/// A parse error for a role name; lists the names that are allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not a role; use one of: {allowed}")]
pub struct RoleError {
    pub given: String,
    pub allowed: &'static str,
}

/// What a member of a connecting party's team may do within its own organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamRole {
    /// Created the organisation; manages the team.
    Owner,
    Admin,
    Viewer,
}

impl TeamRole {
    pub const ALL: [Self; 3] = [Self::Owner, Self::Admin, Self::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Viewer => "viewer",
        }
    }

    /// How the role reads on a page.
    pub fn label(self) -> &'static str {
        match self {
            Self::Owner => "Owner",
            Self::Admin => "Admin",
            Self::Viewer => "Viewer",
        }
    }
}

impl FromStr for TeamRole {
    type Err = RoleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == s.trim())
            .ok_or_else(|| RoleError { given: s.to_owned(), allowed: "owner, admin, viewer" })
    }
}

/// What a member of the provider's staff may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Writes assurance flows.
    Author,
    /// Approves application sections.
    Reviewer,
    /// Creates, issues, pauses, resumes and terminates agreements; answers cases; publishes terms.
    AgreementTeam,
    /// Approves the connection-agreement section of an application.
    LiveService,
    /// Manages users and configuration.
    Admin,
}

impl StaffRole {
    pub const ALL: [Self; 5] = [Self::Author, Self::Reviewer, Self::AgreementTeam, Self::LiveService, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Author => "author",
            Self::Reviewer => "reviewer",
            Self::AgreementTeam => "agreement_team",
            Self::LiveService => "live_service",
            Self::Admin => "admin",
        }
    }
}

impl FromStr for StaffRole {
    type Err = RoleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|role| role.as_str() == s.trim()).ok_or_else(|| RoleError {
            given: s.to_owned(),
            allowed: "author, reviewer, agreement_team, live_service, admin",
        })
    }
}

/// A connecting-party user's place in their one organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub organisation_id: OrganisationId,
    pub role: TeamRole,
    /// Set by the onboarding contact nomination form; only onboarding contacts may accept agreements.
    pub onboarding_contact: bool,
}

/// SEC-1: the action needs an account whose address is verified, and this one's is not yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("confirm your email address first: open the link we sent you, or ask for a new one on your account page")]
pub struct AddressNotVerified;

/// A user to be created. The password hash is produced by the service layer (Argon2id), never here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub email: EmailAddress,
    pub full_name: PersonName,
    pub password_hash: Option<String>,
    pub staff_roles: Vec<StaffRole>,
    /// Whether the address counts as verified from the start: staff accounts an admin makes and demo
    /// accounts; a self-registered account is not, until its link is used (SEC-1).
    pub email_verified: bool,
}

/// A stored user: provider staff (with staff roles) or a connecting party user (with a membership), or a
/// newly registered user who belongs to no organisation yet.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: EmailAddress,
    pub full_name: PersonName,
    pub password_hash: Option<String>,
    pub staff_roles: Vec<StaffRole>,
    pub membership: Option<Membership>,
    pub created_at: Timestamp,
    /// When the owner of the address proved they hold it (SEC-1); `None` until then.
    pub email_verified_at: Option<Timestamp>,
}

impl User {
    /// SEC-1: whether the account has proved it holds its address, which joining an organisation, being
    /// nominated onboarding contact, accepting an agreement, raising a query and reading an invitation need.
    pub fn is_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }

    /// [`Self::is_verified`] as a rule to check before such an action.
    pub fn require_verified(&self) -> Result<(), AddressNotVerified> {
        if self.is_verified() { Ok(()) } else { Err(AddressNotVerified) }
    }

    pub fn is_staff(&self) -> bool {
        !self.staff_roles.is_empty()
    }

    pub fn has_staff_role(&self, role: StaffRole) -> bool {
        self.staff_roles.contains(&role)
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("full_name", &self.full_name)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "<redacted>"))
            .field("staff_roles", &self.staff_roles)
            .field("membership", &self.membership)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_from_their_names_and_list_the_choices_when_wrong() {
        assert_eq!("agreement_team".parse::<StaffRole>(), Ok(StaffRole::AgreementTeam));
        assert_eq!("viewer".parse::<TeamRole>(), Ok(TeamRole::Viewer));
        let error = "boss".parse::<TeamRole>().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("owner, admin, viewer"), "{error}");
    }

    #[test]
    fn a_password_hash_never_shows_in_debug_output() {
        let user = User {
            id: UserId(Uuid::nil()),
            email: EmailAddress::parse("a@b.example").unwrap(),
            full_name: PersonName::parse("Ada").unwrap(),
            password_hash: Some("$argon2id$secret".into()),
            staff_roles: vec![],
            membership: None,
            created_at: Timestamp::UNIX_EPOCH,
            email_verified_at: None,
        };
        assert!(!format!("{user:?}").contains("secret"));
    }
}

/// A password as typed, before hashing. Debug output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password must be at least {min} characters long")]
    TooShort { min: usize },
    #[error("a password must be {max} characters or fewer")]
    TooLong { max: usize },
}

impl Password {
    pub const MIN: usize = 12;
    pub const MAX: usize = 128;

    /// Length is the only rule (NCSC guidance: long passphrases beat composition rules). Not trimmed: spaces
    /// are part of a passphrase.
    pub fn parse(raw: &str) -> Result<Self, PasswordError> {
        match raw.chars().count() {
            n if n < Self::MIN => Err(PasswordError::TooShort { min: Self::MIN }),
            n if n > Self::MAX => Err(PasswordError::TooLong { max: Self::MAX }),
            _ => Ok(Self(raw.to_owned())),
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}
