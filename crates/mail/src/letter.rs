//! Every notification as a plain-English letter (NOT-1): a subject, a greeting, paragraphs, an optional list,
//! and the one link that takes the reader to the page where they act. Composing is pure: the same
//! notification and letterhead give the same letter, so a retry sends the same words.

use jiff::Timestamp;
use onramp_domain::agreement::{AgreementState, Origin, long_date};
use onramp_domain::calendar::london;
use onramp_domain::case::CaseState;
use onramp_domain::notification::{AgreementSummary, ApplicationEvent, Notification};

/// Who sends the letters and where the portal is: the same for every message of one Onramp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letterhead {
    /// The portal's public address without a trailing slash, e.g. `https://onramp.example.org`.
    pub portal: String,
    /// The provider's name, e.g. "NHS England".
    pub provider: String,
    /// Where people write with questions.
    pub service_desk: String,
}

/// A link in a letter: its words and its full address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub label: String,
    pub url: String,
}

/// One message in words, before it becomes text and HTML parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub subject: String,
    pub greeting: String,
    pub paragraphs: Vec<String>,
    /// Bullet points after the paragraphs (what changed in the terms, say).
    pub list: Vec<String>,
    pub action: Option<Link>,
    /// Paragraphs after the link.
    pub closing: Vec<String>,
    pub sign_off: String,
    /// Why the reader got it, in one line at the foot.
    pub footer: String,
}

/// What else a letter may need that the notification does not carry.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras<'a> {
    /// The summary of changes of the terms version a terms-change letter is about (CA-5).
    pub summary_of_changes: &'a [String],
}

/// A London date and time as a letter says it: "Tuesday 2 March 2027 at 10:00 (London time)".
pub fn london_time(instant: Timestamp) -> String {
    instant.to_zoned(london()).strftime("%A %-d %B %Y at %H:%M (London time)").to_string()
}

/// A London date as a letter says it: "Tuesday 2 March 2027".
pub fn london_day(instant: Timestamp) -> String {
    instant.to_zoned(london()).strftime("%A %-d %B %Y").to_string()
}

struct Draft<'a> {
    head: &'a Letterhead,
    letter: Letter,
}

impl<'a> Draft<'a> {
    fn new(head: &'a Letterhead, subject: String, greeting: &str) -> Self {
        Self {
            head,
            letter: Letter {
                subject,
                greeting: format!("{greeting},"),
                paragraphs: Vec::new(),
                list: Vec::new(),
                action: None,
                closing: Vec::new(),
                sign_off: format!("The {} Connection Agreement team", head.provider),
                footer: String::new(),
            },
        }
    }

    fn say(mut self, paragraph: impl Into<String>) -> Self {
        self.letter.paragraphs.push(paragraph.into());
        self
    }

    fn list(mut self, items: impl IntoIterator<Item = String>) -> Self {
        self.letter.list.extend(items);
        self
    }

    fn link(mut self, label: &str, path: &str) -> Self {
        self.letter.action = Some(Link { label: label.to_owned(), url: format!("{}{path}", self.head.portal) });
        self
    }

    fn then(mut self, paragraph: impl Into<String>) -> Self {
        self.letter.closing.push(paragraph.into());
        self
    }

    fn footer(mut self, footer: impl Into<String>) -> Self {
        self.letter.footer = footer.into();
        self
    }

    fn questions(self) -> Self {
        let desk = self.head.service_desk.clone();
        self.then(format!("If you have a question, reply to this message or write to {desk}."))
    }

    fn done(self) -> Letter {
        self.letter
    }
}

fn agreement_path(agreement: &AgreementSummary) -> String {
    format!("/agreements/{}", agreement.number)
}

fn contacts_footer(agreement: &AgreementSummary) -> String {
    format!(
        "You are receiving this because you are an onboarding contact, or the delivery-notice mailbox, of {}.",
        agreement.organisation
    )
}

fn deadline_words(agreement: &AgreementSummary) -> String {
    agreement.review_deadline.map(london_time).unwrap_or_else(|| "the date shown in the portal".to_owned())
}

/// Composes the letter for `notification`.
pub fn compose(notification: &Notification, head: &Letterhead, extras: Extras<'_>) -> Letter {
    match notification {
        Notification::Issued { agreement, origin } => issued(head, agreement, *origin, extras),
        Notification::Reminder { agreement, days_before, deadline } => {
            reminder(head, agreement, *days_before, *deadline)
        }
        Notification::Cancelled { agreement } => Draft::new(
            head,
            format!("Connection Agreement {} has been cancelled", agreement.number),
            "Hello",
        )
        .say(format!(
            "The Connection Agreement {} ({}) for {} was not accepted in time and has been cancelled.",
            agreement.number, agreement.name, agreement.organisation
        ))
        .say("If your organisation still needs to connect, ask us to issue a new agreement.")
        .link("View the agreement", &agreement_path(agreement))
        .questions()
        .footer(contacts_footer(agreement))
        .done(),
        Notification::Activated { agreement } => Draft::new(
            head,
            format!("Connection Agreement {} is now active", agreement.number),
            "Hello",
        )
        .say(format!(
            "The Connection Agreement {} ({}) for {} has been accepted and is now active, on version {} of the terms.",
            agreement.number, agreement.name, agreement.organisation, agreement.terms_version
        ))
        .say("You can download a PDF of the agreement from its page for your records.")
        .link("View the agreement", &agreement_path(agreement))
        .questions()
        .footer(contacts_footer(agreement))
        .done(),
        Notification::TerminationScheduled { agreement, end_date } => Draft::new(
            head,
            format!("Connection Agreement {} will end on {}", agreement.number, long_date(*end_date)),
            "Hello",
        )
        .say(format!(
            "The Connection Agreement {} ({}) for {} has been given notice of termination.",
            agreement.number, agreement.name, agreement.organisation
        ))
        .say(format!(
            "It stays in force until the end of the day before {}, when it ends. Your organisation must stop \
             using the API products it covers by then.",
            long_date(*end_date)
        ))
        .link("View the agreement", &agreement_path(agreement))
        .questions()
        .footer(contacts_footer(agreement))
        .done(),
        Notification::Terminated { agreement } => Draft::new(
            head,
            format!("Connection Agreement {} has ended", agreement.number),
            "Hello",
        )
        .say(format!(
            "The Connection Agreement {} ({}) for {} has ended. Your organisation may no longer use the API \
             products it covered.",
            agreement.number, agreement.name, agreement.organisation
        ))
        .link("View the agreement", &agreement_path(agreement))
        .questions()
        .footer(contacts_footer(agreement))
        .done(),
        Notification::QueryRaised { agreement } => {
            let case = agreement.case.map(|c| c.to_string()).unwrap_or_else(|| "a case".to_owned());
            let path = agreement.case.map(|c| format!("/cases/{c}")).unwrap_or_else(|| agreement_path(agreement));
            Draft::new(head, format!("Query raised on Connection Agreement {} ({case})", agreement.number), "Hello")
                .say(format!(
                    "{} has raised a query about the Connection Agreement {} ({}). It is case {case}.",
                    agreement.organisation, agreement.number, agreement.name
                ))
                .say(
                    "While the query is open the agreement's review period is paused: it will not be \
                     auto-accepted and no reminders are sent.",
                )
                .link("Open the case", &path)
                .footer(contacts_footer(agreement))
                .done()
        }
        Notification::CaseActivity { case, author, body, .. } => {
            Draft::new(head, format!("New comment on case {case}"), "Hello")
                .say(format!("{author} commented on case {case}:"))
                .list([body.clone()])
                .link("Reply in the portal", &format!("/cases/{case}"))
                .footer(format!("You are receiving this because you take part in or watch case {case}."))
                .done()
        }
        Notification::CaseState { case, author, state, .. } => {
            let words = match state {
                CaseState::Open => "reopened",
                CaseState::Resolved => "marked as resolved",
                CaseState::Closed => "closed",
                CaseState::AwaitingInfo => "marked as awaiting information from you",
            };
            Draft::new(head, format!("Case {case} has been {words}"), "Hello")
                .say(format!("{author} {words} case {case}."))
                .link("View the case", &format!("/cases/{case}"))
                .footer(format!("You are receiving this because you take part in or watch case {case}."))
                .done()
        }
        Notification::TeamInvitation { organisation, role, invited_by, register_with, expires_at } => Draft::new(
            head,
            format!("{invited_by} has invited you to join {organisation} on the {} portal", head.provider),
            "Hello",
        )
        .say(format!(
            "{invited_by} has invited you to join the team of {organisation} as {} {}.",
            article(role.as_str()),
            role.as_str()
        ))
        .say(format!(
            "To accept or decline, sign in with {register_with} (or create an account with that address and \
             confirm it), then open your invitations. The invitation expires on {}.",
            london_time(*expires_at)
        ))
        .link("See your invitations", "/invitations")
        .then("If you were not expecting this, you can ignore this message: nothing happens unless you accept.")
        .footer(format!("This was sent to {register_with} because {invited_by} typed it in an invitation."))
        .done(),
        Notification::TeamMemberAdded { organisation, role, added_by } => {
            Draft::new(head, format!("You have joined {organisation}"), "Hello")
                .say(format!(
                    "{added_by} has added you to the team of {organisation} as {} {}.",
                    article(role.as_str()),
                    role.as_str()
                ))
                .link("Open the portal", "/")
                .questions()
                .done()
        }
        Notification::PasswordReset { full_name, path, expires_at } => {
            Draft::new(head, format!("Reset your {} portal password", head.provider), &format!("Dear {full_name}"))
                .say("Someone asked to reset the password of your account. If it was you, use this link to choose a new password.")
                .link("Choose a new password", path)
                .then(format!(
                    "The link works once and expires on {}. If you did not ask for it, ignore this message: \
                     your password stays as it is.",
                    london_time(*expires_at)
                ))
                .done()
        }
        Notification::AddressVerification { full_name, path, expires_at } => {
            Draft::new(head, format!("Confirm your email address for the {} portal", head.provider), &format!("Dear {full_name}"))
                .say("Please confirm that this is your email address, so that you can join your organisation and act for it.")
                .link("Confirm my email address", path)
                .then(format!(
                    "The link works once and expires on {}. If you did not create an account, ignore this \
                     message and nothing more will happen.",
                    london_time(*expires_at)
                ))
                .done()
        }
        Notification::AccountExists { full_name } => {
            Draft::new(head, format!("Someone tried to register with your address on the {} portal", head.provider), &format!("Dear {full_name}"))
                .say("Someone tried to create a new account with this email address, which already has an account. No new account was created.")
                .say("If it was you, sign in instead; if you have forgotten your password, you can reset it from the sign-in page.")
                .link("Sign in", "/sign-in")
                .then("If it was not you, you need do nothing: your account has not changed.")
                .done()
        }
        Notification::ApplicationUpdate { application, product_name, organisation, section, event } => {
            let page = format!("/applications/{}", application.0);
            match event {
                ApplicationEvent::Submitted => {
                    Draft::new(head, format!("{organisation} submitted {section} for {product_name}"), "Hello")
                        .say(format!(
                            "{organisation} has submitted the section {section} of its application for {product_name}. \
                             It is waiting in the review queue."
                        ))
                        .link("Open the review queue", "/staff/reviews")
                        .done()
                }
                ApplicationEvent::ChangesRequested { comments } => {
                    Draft::new(head, format!("Changes requested: {section} of {product_name}"), "Hello")
                        .say(format!(
                            "The reviewer has asked for changes to the section {section} of your application for \
                             {product_name}, with {comments} comment{}. Each comment is shown beside its question.",
                            if *comments == 1 { "" } else { "s" }
                        ))
                        .link("Open the application", &page)
                        .then("Change your answers and submit the section again.")
                        .done()
                }
                ApplicationEvent::Approved => {
                    Draft::new(head, format!("Approved: {section} of {product_name}"), "Hello")
                        .say(format!("The section {section} of your application for {product_name} has been approved."))
                        .link("Open the application", &page)
                        .questions()
                        .done()
                }
                ApplicationEvent::Rejected { reason } => {
                    Draft::new(head, format!("Your application for {product_name} was not accepted"), "Hello")
                        .say(format!("The provider has closed your application for {product_name}. The reason given:"))
                        .say(reason.clone())
                        .link("Open the application", &page)
                        .then("You may start a new application when the reason no longer applies.")
                        .questions()
                        .done()
                }
                ApplicationEvent::MilestonesChanged { preparation_call, demonstration_call, go_live } => {
                    let milestones = onramp_domain::application::milestones::Milestones {
                        preparation_call: *preparation_call,
                        demonstration_call: *demonstration_call,
                        go_live: *go_live,
                        submitted_for_review: None,
                    };
                    let day = |date: Option<jiff::civil::Date>| date.map_or_else(|| "not set yet".to_owned(), long_date);
                    let mut draft = Draft::new(head, format!("Milestones updated: {product_name}"), "Hello")
                        .say(format!(
                            "The provider has recorded the dates agreed with you for your application for {product_name}:"
                        ))
                        .list([
                            format!("Preparation call: {}", day(milestones.preparation_call)),
                            format!("Product demonstration call: {}", day(milestones.demonstration_call)),
                            format!(
                                "Nominal go-live (four months after the demonstration call): {}",
                                day(milestones.nominal_go_live())
                            ),
                            format!("Agreed go-live: {}", day(milestones.go_live)),
                        ]);
                    draft = draft.link("Open the application", &page);
                    if let Some(warning) = milestones.go_live_warning() {
                        draft = draft.then(format!("{warning}."));
                    }
                    draft.questions().done()
                }
            }
        }
    }
}

fn article(word: &str) -> &'static str {
    match word.chars().next().map(|c| c.to_ascii_lowercase()) {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
}

fn issued(head: &Letterhead, agreement: &AgreementSummary, origin: Origin, extras: Extras<'_>) -> Letter {
    let path = agreement_path(agreement);
    let number = agreement.number;
    match origin {
        Origin::TermsChange => Draft::new(
            head,
            format!("The Connection Agreement terms are changing: please review {number}"),
            "Hello",
        )
        .say(format!(
            "{} has published version {} of the Connection Agreement terms, and has issued {number} ({}) to {} on \
             the new terms.",
            head.provider, agreement.terms_version, agreement.name, agreement.organisation
        ))
        .say(if extras.summary_of_changes.is_empty() {
            "The agreement page shows every clause that changed.".to_owned()
        } else {
            "What changed:".to_owned()
        })
        .list(extras.summary_of_changes.iter().cloned())
        .link("Review the new terms", &path)
        .then(format!(
            "If you do nothing, the new terms will be accepted automatically on {}. If you have a question about \
             them, raise a query on the agreement page before then: that pauses the review period until it is answered.",
            deadline_words(agreement)
        ))
        .footer(contacts_footer(agreement))
        .done(),
        Origin::LegacyUplift => Draft::new(
            head,
            format!("Your digital Connection Agreement {number} is ready to accept"),
            "Hello",
        )
        .say(format!(
            "{} held a paper Connection Agreement on version 5 of the terms. {} now keeps agreements in its portal, \
             and has issued {number} ({}) on version {} of the terms to replace it.",
            agreement.organisation, head.provider, agreement.name, agreement.terms_version
        ))
        .say(format!(
            "An onboarding contact must read and accept it by {}. Until then your paper agreement stays in force.",
            deadline_words(agreement)
        ))
        .link("Read and accept the agreement", &path)
        .questions()
        .footer(contacts_footer(agreement))
        .done(),
        Origin::NewContract | Origin::PaperImport => {
            let state = if agreement.state == AgreementState::Active { " It is active already." } else { "" };
            Draft::new(head, format!("Connection Agreement {number} is ready for you to accept"), "Hello")
                .say(format!(
                    "{} has issued the Connection Agreement {number} ({}) to {}, on version {} of the terms.{state}",
                    head.provider, agreement.name, agreement.organisation, agreement.terms_version
                ))
                .say(format!(
                    "An onboarding contact must read and accept it by {}. If it is not accepted by then it is \
                     cancelled.",
                    deadline_words(agreement)
                ))
                .link("Read and accept the agreement", &path)
                .questions()
                .footer(contacts_footer(agreement))
                .done()
        }
    }
}

fn reminder(head: &Letterhead, agreement: &AgreementSummary, days_before: u32, deadline: Timestamp) -> Letter {
    let when = if days_before == 1 { "tomorrow".to_owned() } else { format!("in {days_before} days") };
    let path = agreement_path(agreement);
    let draft = if agreement.auto_accepts {
        Draft::new(
            head,
            format!("Reminder: the new terms of {} are accepted automatically {when}", agreement.number),
            "Hello",
        )
        .say(format!(
            "The Connection Agreement {} ({}) for {} is on version {} of the terms. Unless you raise a query, it \
             will be accepted automatically on {}.",
            agreement.number,
            agreement.name,
            agreement.organisation,
            agreement.terms_version,
            london_time(deadline)
        ))
        .link("Review the new terms", &path)
    } else {
        Draft::new(head, format!("Reminder: accept Connection Agreement {} {when}", agreement.number), "Hello")
            .say(format!(
                "The Connection Agreement {} ({}) for {} is waiting for an onboarding contact to accept it. If it is \
                 not accepted by {}, it will be cancelled.",
                agreement.number,
                agreement.name,
                agreement.organisation,
                london_time(deadline)
            ))
            .link("Read and accept the agreement", &path)
    };
    draft.questions().footer(contacts_footer(agreement)).done()
}
