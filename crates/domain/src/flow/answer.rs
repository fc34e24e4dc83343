//! Typed answers (DOS-1, DOS-3): what a supplier typed into a form, checked against its question's kind and
//! limits and turned into an [`Answer`]. [`parse_answer`] refuses with an [`AnswerError`], a sentence shown
//! beside the question that names the rule; [`answer_text`] renders an answer back into form values, so a form
//! can be filled in again with what was given (parsing those values gives the same answer).
//!
//! Whether a question may be left blank is not decided here: nothing given is `Ok(None)`, and the flow's
//! `required` and `required_when` rules ([`super::evaluate`]) say whether that will do.

use std::collections::BTreeSet;

use jiff::civil::Date;

use super::evaluate::Answer;
use super::file::{Question, QuestionKind};
use crate::identifiers::EmailAddress;

/// The most characters a short text takes when its question sets no `max_chars`.
pub const SHORT_TEXT_MAX_CHARS: u32 = 200;
/// The most characters a long text takes when its question sets no `max_chars`.
pub const LONG_TEXT_MAX_CHARS: u32 = 10_000;

const DATE_SHAPE: &str = "Enter a date as DD/MM/YYYY, for example 15/06/2026";
const NUMBER_SHAPE: &str = "Enter a number using digits, for example 1500, 1,500 or 2.5";
const EVIDENCE: &str = "Upload files for this question; they are not typed";
/// How much of a wrong value a message repeats.
const SHOWN_CHARS: usize = 40;

/// Why a typed answer was refused: a sentence for the person, naming the rule (shown beside the question).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AnswerError(pub String);

fn refuse<T>(message: impl Into<String>) -> Result<T, AnswerError> {
    Err(AnswerError(message.into()))
}

/// Checks what was typed for `question` and turns it into its [`Answer`].
///
/// `values` are the form values submitted for this question (a multiple choice or email list may send several;
/// other kinds take the first). Returns `Ok(None)` when nothing was given (blank after trimming) — whether that
/// is allowed is decided by the flow's `required` rules elsewhere.
///
/// Every value is trimmed and blank values are ignored, so "the first" is the first value that is not blank.
/// By kind:
///
/// - `short_text`: one line (a line break is refused), at most `max_chars` characters, 200 when the question
///   sets none → [`Answer::Text`].
/// - `long_text`: line breaks (`\r\n`, `\r`) become `\n`, then at most `max_chars` characters, 10,000 when the
///   question sets none → [`Answer::Text`]. A line break counts as one character.
/// - Both texts count characters, not bytes, and refuse control characters other than tab (and, in a long
///   text, the line break): they cannot be stored and are never meant.
/// - `email`: one address, checked by [`EmailAddress::parse`] (group mailboxes are ordinary addresses) and
///   stored lower-cased → [`Answer::Text`]. Two addresses are refused.
/// - `email_list`: addresses separated by commas, semicolons, spaces or line breaks, or given as several
///   values; each is checked and the message quotes the one that is wrong. Repeats (whatever their case) are
///   dropped, the first kept → [`Answer::Choices`] of lower-cased addresses in the order given.
/// - `yes_no`: `yes`/`no` or `true`/`false`, in any case → [`Answer::YesNo`].
/// - `acknowledgement`: the tick sends `yes` (`true` also does) → `YesNo(true)`; any other value is refused.
///   An unticked box sends nothing: `Ok(None)`.
/// - `single_choice`: exactly one of the options, as written in the flow → [`Answer::Text`]. Several values
///   are refused.
/// - `multiple_choice`: each value one of the options; a repeat counts once → [`Answer::Choices`] in the order
///   of the options.
/// - `date`: `DD/MM/YYYY` (the UK order; day and month of one or two digits, a four-digit year) or
///   `YYYY-MM-DD` → [`Answer::Date`]. A date that does not exist (31/02/2026) or the year 0 is refused; a
///   two-digit year is refused with a message asking for four.
/// - `number`: digits with an optional sign and decimal point (`-12.5`, `.5`). Commas are accepted as thousands
///   separators only where they group three digits (`1,000`, `12,345.6`); `1,00` or `0,5` (a decimal comma?)
///   are refused rather than guessed, as are exponents (`1e5`). It must be finite and within `min` and `max`
///   (both inclusive) when set; the message names the bounds → [`Answer::Number`] (−0 is stored as 0).
/// - `evidence`: files are uploaded separately, so any typed value is refused ("Upload files for this
///   question; they are not typed"); nothing given is `Ok(None)`.
///
/// It never panics, whatever it is given.
pub fn parse_answer(question: &Question, values: &[String]) -> Result<Option<Answer>, AnswerError> {
    let given: Vec<&str> = values.iter().map(|value| value.trim()).filter(|value| !value.is_empty()).collect();
    let Some(&first) = given.first() else { return Ok(None) };
    let limits = &question.limits;
    let answer = match question.kind {
        QuestionKind::ShortText => Answer::Text(text(first, false, limits.max_chars.unwrap_or(SHORT_TEXT_MAX_CHARS))?),
        QuestionKind::LongText => Answer::Text(text(first, true, limits.max_chars.unwrap_or(LONG_TEXT_MAX_CHARS))?),
        QuestionKind::Email => Answer::Text(email(first)?),
        QuestionKind::YesNo => Answer::YesNo(yes_no(first).ok_or_else(|| AnswerError("Select yes or no".into()))?),
        QuestionKind::Acknowledgement => match yes_no(first) {
            Some(true) => Answer::YesNo(true),
            _ => return refuse("Tick the box to confirm"),
        },
        QuestionKind::SingleChoice => {
            if given.len() > 1 {
                return refuse("Select one option only");
            }
            match option_index(&question.options, first).and_then(|index| question.options.get(index)) {
                Some(option) => Answer::Text(option.clone()),
                None => {
                    return refuse(format!("Select one of the options listed ({} is not one of them)", quoted(first)));
                }
            }
        }
        QuestionKind::Date => Answer::Date(date(first)?),
        QuestionKind::Number => Answer::Number(number(first, limits.min, limits.max)?),
        QuestionKind::Evidence => return refuse(EVIDENCE),
        // These two take every value given.
        QuestionKind::EmailList => return email_list(&given),
        QuestionKind::MultipleChoice => return multiple_choice(&question.options, &given),
    };
    Ok(Some(answer))
}

/// An answer as form values, to fill a form in again: `yes`/`no`, a number in plain digits, a date as
/// `DD/MM/YYYY`, the text, or one value per choice or address. [`parse_answer`] of these values gives back
/// the answer it made.
pub fn answer_text(answer: &Answer) -> Vec<String> {
    match answer {
        Answer::YesNo(yes) => vec![if *yes { "yes" } else { "no" }.to_owned()],
        // `Display` writes the shortest digits that read back as the same number, and never an exponent.
        Answer::Number(number) => vec![number.to_string()],
        Answer::Date(date) => vec![format!("{:02}/{:02}/{:04}", date.day(), date.month(), date.year())],
        Answer::Text(text) => vec![text.clone()],
        Answer::Choices(choices) => choices.clone(),
    }
}

fn text(value: &str, multiline: bool, max_chars: u32) -> Result<String, AnswerError> {
    let value = if multiline { value.replace("\r\n", "\n").replace('\r', "\n") } else { value.to_owned() };
    let value = value.trim();
    if !multiline && value.contains(['\n', '\r']) {
        return refuse("Enter your answer on one line");
    }
    if let Some(control) = value.chars().find(|&c| c.is_control() && c != '\t' && c != '\n') {
        return refuse(format!("Remove the hidden control character (U+{:04X}) from your answer", u32::from(control)));
    }
    let count = value.chars().count();
    if count > usize::try_from(max_chars).unwrap_or(usize::MAX) {
        let unit = if max_chars == 1 { "character" } else { "characters" };
        return refuse(format!(
            "Enter {} {unit} or fewer (you entered {})",
            grouped(&max_chars.to_string()),
            grouped(&count.to_string())
        ));
    }
    Ok(value.to_owned())
}

fn is_separator(c: char) -> bool {
    c == ',' || c == ';' || c.is_whitespace()
}

fn email(value: &str) -> Result<String, AnswerError> {
    let pieces = value.split(is_separator).filter(|piece| !piece.is_empty()).count();
    if pieces > 1 && value.matches('@').count() > 1 {
        return refuse("Enter one email address only");
    }
    EmailAddress::parse(value).map(String::from).map_err(|error| AnswerError(sentence(&error.to_string())))
}

fn email_list(given: &[&str]) -> Result<Option<Answer>, AnswerError> {
    let mut seen = BTreeSet::new();
    let mut addresses = Vec::new();
    for piece in given.iter().flat_map(|value| value.split(is_separator)).filter(|piece| !piece.is_empty()) {
        let address =
            EmailAddress::parse(piece).map_err(|error| AnswerError(format!("Check {}: {error}", quoted(piece))))?;
        let address = String::from(address);
        if seen.insert(address.clone()) {
            addresses.push(address);
        }
    }
    Ok((!addresses.is_empty()).then_some(Answer::Choices(addresses)))
}

fn yes_no(value: &str) -> Option<bool> {
    let is = |word: &str| value.eq_ignore_ascii_case(word);
    if is("yes") || is("true") {
        Some(true)
    } else if is("no") || is("false") {
        Some(false)
    } else {
        None
    }
}

/// The option `value` names: written exactly so, or else the same once trimmed.
fn option_index(options: &[String], value: &str) -> Option<usize> {
    options.iter().position(|option| option == value).or_else(|| options.iter().position(|o| o.trim() == value))
}

fn multiple_choice(options: &[String], given: &[&str]) -> Result<Option<Answer>, AnswerError> {
    let mut picked = vec![false; options.len()];
    for value in given {
        match option_index(options, value).and_then(|index| picked.get_mut(index)) {
            Some(slot) => *slot = true,
            None => return refuse(format!("Select only the options listed ({} is not one of them)", quoted(value))),
        }
    }
    let choices: Vec<String> =
        options.iter().zip(picked).filter(|(_, picked)| *picked).map(|(option, _)| option.clone()).collect();
    Ok((!choices.is_empty()).then_some(Answer::Choices(choices)))
}

/// A date typed in a form as a `date` question takes it (`DD/MM/YYYY` or `YYYY-MM-DD`, see [`parse_answer`]),
/// for the portal's other date fields; blank is `Ok(None)`.
pub fn parse_date(value: &str) -> Result<Option<Date>, AnswerError> {
    let value = value.trim();
    if value.is_empty() { Ok(None) } else { date(value).map(Some) }
}

/// A date as [`parse_date`] reads it back: `DD/MM/YYYY`.
pub fn date_text(date: Date) -> String {
    format!("{:02}/{:02}/{:04}", date.day(), date.month(), date.year())
}

fn date(value: &str) -> Result<Date, AnswerError> {
    let digits = |part: &str, fewest: usize, most: usize| {
        (fewest..=most).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit())
    };
    let (year, month, day) = if let Some((day, month, year)) = three(value, '/') {
        if !digits(day, 1, 2) || !digits(month, 1, 2) || !digits(year, 1, usize::MAX) {
            return refuse(DATE_SHAPE);
        }
        if year.len() != 4 {
            return refuse("Enter the year with 4 digits, for example 15/06/2026");
        }
        (year, month, day)
    } else if let Some((year, month, day)) = three(value, '-') {
        if !digits(year, 4, 4) || !digits(month, 2, 2) || !digits(day, 2, 2) {
            return refuse(DATE_SHAPE);
        }
        (year, month, day)
    } else {
        return refuse(DATE_SHAPE);
    };
    let not_real = || AnswerError(format!("Enter a real date: {value} does not exist"));
    let (Ok(year), Ok(month), Ok(day)) = (year.parse::<i16>(), month.parse::<i8>(), day.parse::<i8>()) else {
        return refuse(DATE_SHAPE);
    };
    if year < 1 {
        return Err(not_real());
    }
    Date::new(year, month, day).map_err(|_| not_real())
}

/// `value` cut in exactly three parts at `separator`.
fn three(value: &str, separator: char) -> Option<(&str, &str, &str)> {
    let mut parts = value.split(separator);
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(a), Some(b), Some(c), None) => Some((a, b, c)),
        _ => None,
    }
}

fn number(value: &str, min: Option<f64>, max: Option<f64>) -> Result<f64, AnswerError> {
    let bounds = || match (min, max) {
        (Some(min), Some(max)) => Some(format!("Enter a number from {} to {}", shown_number(min), shown_number(max))),
        (Some(min), None) => Some(format!("Enter a number of {} or more", shown_number(min))),
        (None, Some(max)) => Some(format!("Enter a number of {} or less", shown_number(max))),
        (None, None) => None,
    };
    let Some(plain) = plain_number(value) else { return refuse(NUMBER_SHAPE) };
    let Ok(number) = plain.parse::<f64>() else { return refuse(NUMBER_SHAPE) };
    if !number.is_finite() {
        return refuse(bounds().unwrap_or_else(|| "Enter a number with fewer digits".to_owned()));
    }
    let outside = min.is_some_and(|min| number < min) || max.is_some_and(|max| number > max);
    if let Some(message) = bounds().filter(|_| outside) {
        return refuse(message);
    }
    // −0 and 0 are the same answer; store the one that reads as "0".
    Ok(if number == 0.0 { 0.0 } else { number })
}

/// `value` without its thousands separators, if it is a plain decimal: an optional sign, digits (grouped in
/// threes by commas, or not at all) and an optional point followed by digits.
fn plain_number(value: &str) -> Option<String> {
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    let negative = value.starts_with('-');
    let rest = value.strip_prefix(['-', '+']).unwrap_or(value);
    let (whole, fraction) = match rest.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (rest, None),
    };
    if fraction.is_some_and(|fraction| fraction.is_empty() || !all_digits(fraction)) {
        return None;
    }
    let mut digits = String::new();
    let mut groups = whole.split(',');
    let head = groups.next().unwrap_or_default();
    if !all_digits(head) {
        return None;
    }
    digits.push_str(head);
    if whole.contains(',') {
        // "0,5" and "1,00" look like decimal commas: refused rather than read as 5 or 100.
        if head.is_empty() || head.len() > 3 || head.starts_with('0') {
            return None;
        }
        for group in groups {
            if group.len() != 3 || !all_digits(group) {
                return None;
            }
            digits.push_str(group);
        }
    }
    if digits.is_empty() && fraction.is_none() {
        return None;
    }
    let sign = if negative { "-" } else { "" };
    let whole = if digits.is_empty() { "0" } else { digits.as_str() };
    Some(match fraction {
        Some(fraction) => format!("{sign}{whole}.{fraction}"),
        None => format!("{sign}{whole}"),
    })
}

/// A number for a message, its whole part grouped in threes: 100000 → "100,000".
fn shown_number(number: f64) -> String {
    let text = number.to_string();
    let (sign, rest) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (whole, fraction) = match rest.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (rest, None),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return text;
    }
    match fraction {
        Some(fraction) => format!("{sign}{}.{fraction}", grouped(whole)),
        None => format!("{sign}{}", grouped(whole)),
    }
}

/// ASCII digits with a comma between each group of three from the right: "2013" → "2,013".
fn grouped(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    let count = digits.chars().count();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (count - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A wrong value in quotes for a message, cut short when long.
fn quoted(value: &str) -> String {
    let mut chars = value.chars();
    let shown: String = chars.by_ref().take(SHOWN_CHARS).collect();
    if chars.next().is_some() { format!("\"{shown}…\"") } else { format!("\"{shown}\"") }
}

/// `message` with a capital first letter.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::file::Limits;
    use super::*;

    fn question(kind: QuestionKind) -> Question {
        Question {
            id: "q".into(),
            kind,
            label: "Question".into(),
            help: None,
            required: false,
            show_when: None,
            required_when: None,
            limits: Limits::default(),
            options: match kind {
                QuestionKind::SingleChoice | QuestionKind::MultipleChoice => {
                    vec!["web".into(), "app".into(), "phone line".into()]
                }
                _ => Vec::new(),
            },
        }
    }

    fn with_limits(kind: QuestionKind, limits: Limits) -> Question {
        Question { limits, ..question(kind) }
    }

    fn parse(question: &Question, values: &[&str]) -> Result<Option<Answer>, AnswerError> {
        let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        parse_answer(question, &values)
    }

    fn ok(question: &Question, values: &[&str]) -> Answer {
        match parse(question, values) {
            Ok(Some(answer)) => answer,
            other => panic!("{values:?} for {:?}: {other:?}", question.kind),
        }
    }

    fn refused(question: &Question, values: &[&str]) -> String {
        match parse(question, values) {
            Err(AnswerError(message)) => message,
            other => panic!("{values:?} for {:?} should be refused: {other:?}", question.kind),
        }
    }

    fn text(value: &str) -> Answer {
        Answer::Text(value.into())
    }

    fn choices(values: &[&str]) -> Answer {
        Answer::Choices(values.iter().map(|v| (*v).to_owned()).collect())
    }

    const KINDS: [QuestionKind; 11] = [
        QuestionKind::ShortText,
        QuestionKind::LongText,
        QuestionKind::Email,
        QuestionKind::EmailList,
        QuestionKind::YesNo,
        QuestionKind::SingleChoice,
        QuestionKind::MultipleChoice,
        QuestionKind::Date,
        QuestionKind::Number,
        QuestionKind::Acknowledgement,
        QuestionKind::Evidence,
    ];

    #[test]
    fn nothing_given_is_no_answer_for_every_kind() {
        for kind in KINDS {
            let question = question(kind);
            assert_eq!(parse(&question, &[]), Ok(None), "{kind:?}");
            assert_eq!(parse(&question, &["", "  \t", "\r\n"]), Ok(None), "{kind:?}");
        }
        assert_eq!(parse(&question(QuestionKind::EmailList), &[" , ;\n"]), Ok(None), "separators only");
    }

    #[test]
    fn short_text_is_one_trimmed_line_of_200_characters_unless_the_flow_says_otherwise() {
        let short = question(QuestionKind::ShortText);
        assert_eq!(ok(&short, &["  Acme Health Ltd \t"]), text("Acme Health Ltd"));
        assert_eq!(ok(&short, &["", "second", "third"]), text("second"), "the first value given");
        assert_eq!(ok(&short, &["a\tb"]), text("a\tb"), "a tab is kept");
        assert_eq!(refused(&short, &["first line\nsecond line"]), "Enter your answer on one line");
        assert_eq!(refused(&short, &["first\rsecond"]), "Enter your answer on one line");
        assert_eq!(refused(&short, &["nul\0here"]), "Remove the hidden control character (U+0000) from your answer");

        // Characters, not bytes: "é" is two bytes.
        let exactly = "é".repeat(200);
        assert_eq!(ok(&short, &[&exactly]), Answer::Text(exactly.clone()));
        assert_eq!(refused(&short, &[&format!("{exactly}é")]), "Enter 200 characters or fewer (you entered 201)");

        let fifty = with_limits(QuestionKind::ShortText, Limits { max_chars: Some(50), ..Limits::default() });
        assert!(parse(&fifty, &[&"x".repeat(50)]).is_ok());
        assert_eq!(refused(&fifty, &[&"x".repeat(51)]), "Enter 50 characters or fewer (you entered 51)");
        let longer = with_limits(QuestionKind::ShortText, Limits { max_chars: Some(300), ..Limits::default() });
        assert!(parse(&longer, &[&"x".repeat(300)]).is_ok(), "max_chars raises the default too");
        let one = with_limits(QuestionKind::ShortText, Limits { max_chars: Some(1), ..Limits::default() });
        assert_eq!(refused(&one, &["ab"]), "Enter 1 character or fewer (you entered 2)");
    }

    #[test]
    fn long_text_normalises_line_breaks_and_counts_characters_up_to_max_chars() {
        let long = with_limits(QuestionKind::LongText, Limits { max_chars: Some(2000), ..Limits::default() });
        assert_eq!(ok(&long, &["\r\n  First line\r\nsecond\rthird\n\n"]), text("First line\nsecond\nthird"));
        assert_eq!(ok(&long, &["a\tb"]), text("a\tb"));
        assert_eq!(refused(&long, &["bell\u{7}"]), "Remove the hidden control character (U+0007) from your answer");

        let exactly = "ü".repeat(2000);
        assert_eq!(ok(&long, &[&exactly]), Answer::Text(exactly.clone()));
        assert_eq!(refused(&long, &[&"ü".repeat(2013)]), "Enter 2,000 characters or fewer (you entered 2,013)");
        // A browser sends a line break as \r\n; it counts once, as the person sees it.
        let lines = format!("{}\r\n{}", "a".repeat(1000), "b".repeat(999));
        assert!(parse(&long, &[&lines]).is_ok());
        assert_eq!(refused(&long, &[&format!("{lines}b")]), "Enter 2,000 characters or fewer (you entered 2,001)");

        let default = question(QuestionKind::LongText);
        assert!(parse(&default, &[&"x".repeat(10_000)]).is_ok());
        assert_eq!(refused(&default, &[&"x".repeat(10_001)]), "Enter 10,000 characters or fewer (you entered 10,001)");
    }

    #[test]
    fn an_email_is_one_address_stored_lower_cased() {
        let email = question(QuestionKind::Email);
        assert_eq!(ok(&email, &[" Legal.Team@Example.NHS.uk "]), text("legal.team@example.nhs.uk"));
        assert_eq!(ok(&email, &["onboarding-team@supplier.co.uk"]), text("onboarding-team@supplier.co.uk"));
        assert_eq!(
            refused(&email, &["someone@example"]),
            "An email address needs a domain after the @ with a dot in it, like name@example.org"
        );
        assert_eq!(refused(&email, &["someone"]), "An email address must contain exactly one @, like name@example.org");
        assert_eq!(
            refused(&email, &["@example.org"]),
            "An email address needs a name before the @, like name@example.org"
        );
        assert_eq!(refused(&email, &["some one@example.org"]), "An email address must not contain spaces");
        assert_eq!(refused(&email, &["a@example.org, b@example.org"]), "Enter one email address only");
        assert_eq!(refused(&email, &["a@example.org b@example.org"]), "Enter one email address only");
    }

    #[test]
    fn an_email_list_is_split_checked_one_by_one_and_rid_of_repeats() {
        let list = question(QuestionKind::EmailList);
        assert_eq!(
            ok(&list, &["a@example.org, B@example.org;c@example.org\r\nd@example.org  e@example.org"]),
            choices(&["a@example.org", "b@example.org", "c@example.org", "d@example.org", "e@example.org"])
        );
        assert_eq!(
            ok(&list, &["a@example.org", "", "b@example.org,A@EXAMPLE.ORG", "b@example.org"]),
            choices(&["a@example.org", "b@example.org"]),
            "several values; repeats in any case dropped, the first kept"
        );
        assert_eq!(ok(&list, &["team@nhs.net;"]), choices(&["team@nhs.net"]));
        assert_eq!(
            refused(&list, &["a@example.org, bob@example; c@example.org"]),
            "Check \"bob@example\": an email address needs a domain after the @ with a dot in it, like name@example.org"
        );
        assert_eq!(
            refused(&list, &["a@example.org", "nobody"]),
            "Check \"nobody\": an email address must contain exactly one @, like name@example.org"
        );
        let long = "x".repeat(60);
        assert_eq!(
            refused(&list, &[&long]),
            format!(
                "Check \"{}…\": an email address must contain exactly one @, like name@example.org",
                "x".repeat(40)
            )
        );
    }

    #[test]
    fn yes_no_takes_yes_no_true_or_false_in_any_case() {
        let yes_no = question(QuestionKind::YesNo);
        for yes in ["yes", "Yes", " YES ", "true", "True"] {
            assert_eq!(ok(&yes_no, &[yes]), Answer::YesNo(true), "{yes}");
        }
        for no in ["no", "NO", "false", "False "] {
            assert_eq!(ok(&yes_no, &[no]), Answer::YesNo(false), "{no}");
        }
        for wrong in ["y", "n", "maybe", "1", "0", "yes please"] {
            assert_eq!(refused(&yes_no, &[wrong]), "Select yes or no", "{wrong}");
        }
    }

    #[test]
    fn an_acknowledgement_is_a_tick_or_nothing() {
        let tick = question(QuestionKind::Acknowledgement);
        assert_eq!(ok(&tick, &["yes"]), Answer::YesNo(true));
        assert_eq!(ok(&tick, &["Yes"]), Answer::YesNo(true));
        assert_eq!(parse(&tick, &[]), Ok(None), "an unticked box sends nothing");
        for wrong in ["no", "false", "on", "ticked"] {
            assert_eq!(refused(&tick, &[wrong]), "Tick the box to confirm", "{wrong}");
        }
    }

    #[test]
    fn a_single_choice_is_exactly_one_of_its_options() {
        let single = question(QuestionKind::SingleChoice);
        assert_eq!(ok(&single, &["app"]), text("app"));
        assert_eq!(ok(&single, &[" phone line "]), text("phone line"));
        assert_eq!(ok(&single, &["", "web"]), text("web"));
        assert_eq!(refused(&single, &["fax"]), "Select one of the options listed (\"fax\" is not one of them)");
        assert_eq!(refused(&single, &["Web"]), "Select one of the options listed (\"Web\" is not one of them)");
        assert_eq!(refused(&single, &["web", "app"]), "Select one option only");
        let padded = Question { options: vec![" web ".into(), "app".into()], ..question(QuestionKind::SingleChoice) };
        assert_eq!(ok(&padded, &["web"]), text(" web "), "the option as the flow writes it");
    }

    #[test]
    fn a_multiple_choice_takes_its_options_in_their_order_once_each() {
        let multiple = question(QuestionKind::MultipleChoice);
        assert_eq!(ok(&multiple, &["phone line", "web"]), choices(&["web", "phone line"]));
        assert_eq!(ok(&multiple, &["app", "", "app"]), choices(&["app"]), "a repeat counts once");
        assert_eq!(ok(&multiple, &["web", "app", "phone line"]), choices(&["web", "app", "phone line"]));
        assert_eq!(refused(&multiple, &["web", "fax"]), "Select only the options listed (\"fax\" is not one of them)");
        assert_eq!(
            refused(&multiple, &["web,app"]),
            "Select only the options listed (\"web,app\" is not one of them)",
            "one value is one option"
        );
    }

    #[test]
    fn a_date_is_day_month_year_or_iso_and_must_exist() {
        let date = question(QuestionKind::Date);
        let june = Answer::Date(Date::new(2026, 6, 15).unwrap());
        for written in ["15/06/2026", "15/6/2026", " 15/06/2026 ", "2026-06-15"] {
            assert_eq!(ok(&date, &[written]), june, "{written}");
        }
        assert_eq!(ok(&date, &["1/2/2026"]), Answer::Date(Date::new(2026, 2, 1).unwrap()), "the UK order");
        assert_eq!(ok(&date, &["29/02/2028"]), Answer::Date(Date::new(2028, 2, 29).unwrap()), "a leap year");
        assert_eq!(ok(&date, &["31/12/9999"]), Answer::Date(Date::new(9999, 12, 31).unwrap()));
        assert_eq!(refused(&date, &["31/02/2026"]), "Enter a real date: 31/02/2026 does not exist");
        assert_eq!(refused(&date, &["29/02/2026"]), "Enter a real date: 29/02/2026 does not exist");
        assert_eq!(refused(&date, &["15/13/2026"]), "Enter a real date: 15/13/2026 does not exist");
        assert_eq!(refused(&date, &["00/06/2026"]), "Enter a real date: 00/06/2026 does not exist");
        assert_eq!(refused(&date, &["2026-02-30"]), "Enter a real date: 2026-02-30 does not exist");
        assert_eq!(refused(&date, &["01/01/0000"]), "Enter a real date: 01/01/0000 does not exist");
        assert_eq!(refused(&date, &["15/06/26"]), "Enter the year with 4 digits, for example 15/06/2026");
        assert_eq!(refused(&date, &["15/06/20266"]), "Enter the year with 4 digits, for example 15/06/2026");
        for wrong in [
            "15 June 2026",
            "2026-6-15",
            "15-06-2026",
            "06/15",
            "15/06/2026/1",
            "+1/06/2026",
            "015/06/2026",
            "tomorrow",
        ] {
            assert_eq!(refused(&date, &[wrong]), "Enter a date as DD/MM/YYYY, for example 15/06/2026", "{wrong}");
        }
    }

    #[test]
    fn a_number_is_plain_decimal_with_optional_thousands_commas() {
        let number = question(QuestionKind::Number);
        let cases = [
            ("42", 42.0),
            ("-12.5", -12.5),
            ("+7", 7.0),
            (".5", 0.5),
            ("0.25", 0.25),
            ("1,000", 1000.0),
            ("12,345.6", 12_345.6),
            ("1,234,567", 1_234_567.0),
            ("007", 7.0),
        ];
        for (written, value) in cases {
            assert_eq!(ok(&number, &[written]), Answer::Number(value), "{written}");
        }
        let Answer::Number(zero) = ok(&number, &["-0"]) else { panic!("a number") };
        assert!(zero == 0.0 && zero.is_sign_positive(), "−0 is stored as 0");
        for wrong in [
            "abc", "1,00", "0,5", "2,5", "1,0000", ",100", "1,000,00", "1e5", "5.", "1.2.3", "--1", "1 000", "NaN",
            "inf", "£5", "5%", "-",
        ] {
            assert_eq!(refused(&number, &[wrong]), NUMBER_SHAPE, "{wrong}");
        }
        assert_eq!(refused(&number, &[&"9".repeat(400)]), "Enter a number with fewer digits");
    }

    #[test]
    fn a_number_is_within_min_and_max_both_inclusive() {
        let limits = |min, max| with_limits(QuestionKind::Number, Limits { min, max, ..Limits::default() });
        let both = limits(Some(1.0), Some(100.0));
        assert_eq!(ok(&both, &["1"]), Answer::Number(1.0));
        assert_eq!(ok(&both, &["100"]), Answer::Number(100.0));
        assert_eq!(ok(&both, &["99.99"]), Answer::Number(99.99));
        for outside in ["0", "0.999", "100.01", "-5", "1,000"] {
            assert_eq!(refused(&both, &[outside]), "Enter a number from 1 to 100", "{outside}");
        }
        assert_eq!(refused(&both, &[&"9".repeat(400)]), "Enter a number from 1 to 100");
        let min = limits(Some(0.5), None);
        assert_eq!(ok(&min, &["0.5"]), Answer::Number(0.5));
        assert_eq!(refused(&min, &["0.4"]), "Enter a number of 0.5 or more");
        let max = limits(None, Some(100_000.0));
        assert_eq!(ok(&max, &["100,000"]), Answer::Number(100_000.0));
        assert_eq!(refused(&max, &["100,001"]), "Enter a number of 100,000 or less");
        let negative = limits(Some(-1_500.5), Some(-1.0));
        assert_eq!(refused(&negative, &["0"]), "Enter a number from -1,500.5 to -1");
    }

    #[test]
    fn evidence_is_uploaded_not_typed() {
        let evidence = question(QuestionKind::Evidence);
        assert_eq!(refused(&evidence, &["report.pdf"]), "Upload files for this question; they are not typed");
        assert_eq!(parse(&evidence, &[" "]), Ok(None));
    }

    #[test]
    fn answer_text_fills_a_form_in_again_with_the_same_answer() {
        let date = Answer::Date(Date::new(2026, 6, 5).unwrap());
        assert_eq!(answer_text(&date), ["05/06/2026"]);
        assert_eq!(answer_text(&Answer::YesNo(true)), ["yes"]);
        assert_eq!(answer_text(&Answer::YesNo(false)), ["no"]);
        assert_eq!(answer_text(&Answer::Number(1_234_567.25)), ["1234567.25"]);
        assert_eq!(answer_text(&Answer::Number(1e21)), ["1000000000000000000000"], "never an exponent");
        assert_eq!(answer_text(&choices(&["web", "app"])), ["web", "app"]);

        let cases: [(QuestionKind, &[&str]); 12] = [
            (QuestionKind::ShortText, &["  Acme Ltd "]),
            (QuestionKind::LongText, &["one\r\ntwo\rthree"]),
            (QuestionKind::Email, &["Team@Example.org"]),
            (QuestionKind::EmailList, &["a@example.org; B@example.org, a@example.org"]),
            (QuestionKind::YesNo, &["FALSE"]),
            (QuestionKind::YesNo, &["yes"]),
            (QuestionKind::Acknowledgement, &["yes"]),
            (QuestionKind::SingleChoice, &["phone line"]),
            (QuestionKind::MultipleChoice, &["phone line", "web"]),
            (QuestionKind::Date, &["1/2/2026"]),
            (QuestionKind::Number, &["-1,234.5"]),
            (QuestionKind::Number, &["0.1"]),
        ];
        for (kind, values) in cases {
            let question = question(kind);
            let answer = ok(&question, values);
            let again = answer_text(&answer);
            let again: Vec<&str> = again.iter().map(String::as_str).collect();
            assert_eq!(ok(&question, &again), answer, "{kind:?} {values:?}");
        }
    }

    fn kind() -> impl Strategy<Value = QuestionKind> {
        proptest::sample::select(KINDS.to_vec())
    }

    /// Random text, and text shaped like answers so the good paths are reached too.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,40}",
            ".{0,20}",
            "[ \t\r\n]{0,2}[0-9,.+-]{1,14}[ \t\r\n]{0,2}",
            "[0-9]{1,2}/[0-9]{1,2}/[0-9]{1,5}",
            "[0-9]{4}-[0-9]{2}-[0-9]{2}",
            "[A-Za-zİ.]{1,8}@[a-zA-Z-]{1,8}\\.(org|uk|NET)[,; \n]{0,2}",
            "(yes|no|YES|True|false|web|app|phone line| web )",
        ]
    }

    fn random_question() -> impl Strategy<Value = Question> {
        (
            kind(),
            proptest::option::of(1u32..300),
            proptest::option::of(-1e6f64..1e6),
            proptest::option::of(-1e6f64..1e6),
        )
            .prop_map(|(kind, max_chars, min, max)| {
                with_limits(kind, Limits { max_chars, min, max, ..Limits::default() })
            })
    }

    proptest! {
        /// Whatever is typed, parsing never panics; what it accepts reads back the same from `answer_text`.
        #[test]
        fn any_values_parse_or_are_refused_and_accepted_answers_round_trip(
            question in random_question(),
            values in proptest::collection::vec(value(), 0..4),
        ) {
            if let Ok(Some(answer)) = parse_answer(&question, &values) {
                let again = parse_answer(&question, &answer_text(&answer));
                prop_assert_eq!(again, Ok(Some(answer)));
            }
        }

        #[test]
        fn any_number_a_person_can_type_round_trips(number in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO) {
            let question = question(QuestionKind::Number);
            let answer = parse_answer(&question, &answer_text(&Answer::Number(number)));
            prop_assert_eq!(answer, Ok(Some(Answer::Number(if number == 0.0 { 0.0 } else { number }))));
        }
    }
}
