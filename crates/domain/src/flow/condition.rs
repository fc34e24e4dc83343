//! The condition language of flow files (DOS-1): the small expressions that show, hide or require a question,
//! section or stage. A condition is parsed once, when the flow is loaded, into a typed tree; a mistake is an
//! error with its column, never a condition that silently evaluates to false.
//!
//! ```text
//! condition  := term (("and" term)+ | ("or" term)+)?      -- mixing `and` and `or` needs brackets
//! term       := "not" term | "(" condition ")" | "answered" "(" answer ")" | reference (operator value)?
//! reference  := "q." section "." question | "org." field | name             -- a name is a named condition
//! operator   := "==" | "!=" | "in" | "any_of" | "all_of" | "none_of" | "<" | "<=" | ">" | ">="
//! value      := "yes" | "no" | number | date (YYYY-MM-DD) | "text" | word | "[" value ("," value)* "]"
//! ```
//!
//! A bare reference stands for a yes/no answer, a yes/no organisation field or a named condition. Whether an
//! operator fits the question it compares is checked by the flow loader, which knows the question kinds;
//! [`Condition::references`] lists what it must check.
//!
//! Evaluation ([`Condition::evaluate`]) follows two rules: an answer to a hidden question counts as absent, and a
//! comparison with an absent answer is false (ask `not answered(x)` for "not given"). A comparison that cannot
//! be made (a number compared with a date, say) is an error, not `false`.

use std::fmt;

use jiff::civil::Date;

/// Where in the expression text something is: 1-based column (expressions are one line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column(pub usize);

/// A mistake in a condition's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {}: {message}", column.0)]
pub struct ConditionSyntaxError {
    pub column: Column,
    pub message: String,
}

/// What a condition can refer to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reference {
    /// `q.<section>.<question>`: an earlier answer.
    Answer { section: String, question: String },
    /// `org.<field>`: a field of the applying organisation (`kind`, `im1_supplier` …).
    Organisation(String),
    /// A condition named in the flow file.
    Named(String),
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Answer { section, question } => write!(f, "q.{section}.{question}"),
            Self::Organisation(field) => write!(f, "org.{field}"),
            Self::Named(name) => f.write_str(name),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equal,
    NotEqual,
    In,
    AnyOf,
    AllOf,
    NoneOf,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Operator {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Equal => "==",
            Self::NotEqual => "!=",
            Self::In => "in",
            Self::AnyOf => "any_of",
            Self::AllOf => "all_of",
            Self::NoneOf => "none_of",
            Self::Less => "<",
            Self::LessOrEqual => "<=",
            Self::Greater => ">",
            Self::GreaterOrEqual => ">=",
        }
    }

    /// Whether the right-hand side is a list (`in`, `any_of`, `all_of`, `none_of`).
    pub fn takes_list(self) -> bool {
        matches!(self, Self::In | Self::AnyOf | Self::AllOf | Self::NoneOf)
    }
}

/// A literal on the right of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    YesNo(bool),
    Number(f64),
    Date(Date),
    /// A quoted string or a bare word (a choice value such as `commercial`).
    Text(String),
    List(Vec<Value>),
}

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// A bare reference: a yes/no answer or field that is yes, or a named condition that holds.
    Holds {
        reference: Reference,
        column: Column,
    },
    Compare {
        reference: Reference,
        operator: Operator,
        value: Value,
        column: Column,
    },
    Answered {
        reference: Reference,
        column: Column,
    },
    Not(Box<Condition>),
    All(Vec<Condition>),
    Any(Vec<Condition>),
}

/// The condition written back in the language, with brackets wherever a group sits inside another, so a
/// page can show what it checks.
impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = |f: &mut fmt::Formatter<'_>, parts: &[Condition], joiner: &str| -> fmt::Result {
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    write!(f, " {joiner} ")?;
                }
                match part {
                    Self::All(_) | Self::Any(_) => write!(f, "({part})")?,
                    _ => write!(f, "{part}")?,
                }
            }
            Ok(())
        };
        match self {
            Self::Holds { reference, .. } => write!(f, "{reference}"),
            Self::Compare { reference, operator, value, .. } => write!(f, "{reference} {} {value}", operator.as_str()),
            Self::Answered { reference, .. } => write!(f, "answered({reference})"),
            Self::Not(inner) => match inner.as_ref() {
                Self::All(_) | Self::Any(_) => write!(f, "not ({inner})"),
                _ => write!(f, "not {inner}"),
            },
            Self::All(parts) => group(f, parts, "and"),
            Self::Any(parts) => group(f, parts, "or"),
        }
    }
}

/// Whether a text written without quotes is read back as that same text: a word (not a number or date, so
/// starting with a letter or `_`, without `.`) that is no keyword and no yes/no value.
fn reads_back_bare(text: &str) -> bool {
    const KEYWORDS: [&str; 11] =
        ["yes", "true", "no", "false", "and", "or", "not", "in", "any_of", "all_of", "none_of"];
    text.starts_with(|c: char| c.is_alphabetic() || c == '_')
        && text.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        && !KEYWORDS.contains(&text)
        && text != "answered"
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::YesNo(true) => f.write_str("yes"),
            Self::YesNo(false) => f.write_str("no"),
            Self::Number(number) => write!(f, "{number}"),
            Self::Date(date) => write!(f, "{date}"),
            Self::Text(text) if reads_back_bare(text) => f.write_str(text),
            // Quoted text has no escapes: it runs to the next quote of the kind it opened with.
            Self::Text(text) if text.contains('"') => write!(f, "'{text}'"),
            Self::Text(text) => write!(f, "\"{text}\""),
            Self::List(values) => {
                f.write_str("[")?;
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{value}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// An answer or field as evaluation sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    YesNo(bool),
    Number(f64),
    Date(Date),
    Text(String),
    /// The options picked in a multiple-choice answer.
    Choices(Vec<String>),
}

/// What a condition is evaluated against. `None` is absent: not answered, or the question is hidden.
pub trait Facts {
    fn fact(&self, reference: &Reference) -> Option<Fact>;
    /// The value of a named condition; `Err` when the flow has no such condition.
    fn named(&self, name: &str) -> Result<bool, EvaluationError>;
}

/// A comparison that cannot be made; the loader's checks should make these impossible for a checked flow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvaluationError {
    #[error("column {}: {reference} cannot be compared with `{operator}` to that value", column.0)]
    Mismatch { reference: String, operator: &'static str, column: Column },
    #[error("column {}: {reference} is not a yes/no answer or a named condition", column.0)]
    NotYesNo { reference: String, column: Column },
    #[error("there is no condition named {0}")]
    UnknownName(String),
}

impl Condition {
    /// Parses `text`. The whole text must be one condition.
    pub fn parse(text: &str) -> Result<Self, ConditionSyntaxError> {
        let tokens = lex(text)?;
        let mut parser = Parser { tokens, at: 0, end: Column(text.chars().count() + 1) };
        let condition = parser.condition(0)?;
        match parser.peek() {
            None => Ok(condition),
            Some(token) => Err(token.error(format!("unexpected {} after the end of the condition", token.kind))),
        }
    }

    /// Every reference in the condition, each with the column where it appears, for the loader to check.
    pub fn references(&self) -> Vec<(&Reference, Column)> {
        let mut found = Vec::new();
        self.collect(&mut found);
        found
    }

    fn collect<'a>(&'a self, found: &mut Vec<(&'a Reference, Column)>) {
        match self {
            Self::Holds { reference, column }
            | Self::Compare { reference, column, .. }
            | Self::Answered { reference, column } => found.push((reference, *column)),
            Self::Not(inner) => inner.collect(found),
            Self::All(parts) | Self::Any(parts) => parts.iter().for_each(|part| part.collect(found)),
        }
    }

    /// Whether the condition holds for `facts`.
    pub fn evaluate(&self, facts: &dyn Facts) -> Result<bool, EvaluationError> {
        match self {
            Self::Not(inner) => Ok(!inner.evaluate(facts)?),
            Self::All(parts) => {
                for part in parts {
                    if !part.evaluate(facts)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Self::Any(parts) => {
                for part in parts {
                    if part.evaluate(facts)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Self::Answered { reference, .. } => Ok(facts.fact(reference).is_some()),
            Self::Holds { reference: Reference::Named(name), .. } => facts.named(name),
            Self::Holds { reference, column } => match facts.fact(reference) {
                None => Ok(false),
                Some(Fact::YesNo(yes)) => Ok(yes),
                Some(_) => Err(EvaluationError::NotYesNo { reference: reference.to_string(), column: *column }),
            },
            Self::Compare { reference, operator, value, column } => {
                let fact = match reference {
                    Reference::Named(name) => Some(Fact::YesNo(facts.named(name)?)),
                    other => facts.fact(other),
                };
                let Some(fact) = fact else { return Ok(false) };
                compare(&fact, *operator, value).ok_or_else(|| EvaluationError::Mismatch {
                    reference: reference.to_string(),
                    operator: operator.as_str(),
                    column: *column,
                })
            }
        }
    }
}

/// `None` when the fact and the value cannot be compared with the operator.
fn compare(fact: &Fact, operator: Operator, value: &Value) -> Option<bool> {
    use Operator::{AllOf, AnyOf, Equal, Greater, GreaterOrEqual, In, Less, LessOrEqual, NoneOf, NotEqual};
    let ordering = |ordering: std::cmp::Ordering| match operator {
        Equal => Some(ordering.is_eq()),
        NotEqual => Some(ordering.is_ne()),
        Less => Some(ordering.is_lt()),
        LessOrEqual => Some(ordering.is_le()),
        Greater => Some(ordering.is_gt()),
        GreaterOrEqual => Some(ordering.is_ge()),
        In | AnyOf | AllOf | NoneOf => None,
    };
    match (fact, value) {
        (Fact::YesNo(a), Value::YesNo(b)) if matches!(operator, Equal | NotEqual) => ordering(a.cmp(b)),
        (Fact::Number(a), Value::Number(b)) => a.partial_cmp(b).and_then(ordering),
        (Fact::Date(a), Value::Date(b)) => ordering(a.cmp(b)),
        (Fact::Text(a), Value::Text(b)) if matches!(operator, Equal | NotEqual) => ordering(a.as_str().cmp(b)),
        (Fact::Text(a), Value::List(options)) if operator == In => {
            let options = texts(options)?;
            Some(options.contains(&a.as_str()))
        }
        (Fact::Choices(picked), Value::List(options)) => {
            let options = texts(options)?;
            let picked = |option: &&str| picked.iter().any(|p| p == option);
            match operator {
                AnyOf => Some(options.iter().any(picked)),
                AllOf => Some(options.iter().all(picked)),
                NoneOf => Some(!options.iter().any(picked)),
                _ => None,
            }
        }
        _ => None,
    }
}

fn texts(values: &[Value]) -> Option<Vec<&str>> {
    values.iter().map(|v| if let Value::Text(text) = v { Some(text.as_str()) } else { None }).collect()
}

#[derive(Debug, Clone, PartialEq)]
enum TokenKind {
    Word(String),
    Text(String),
    Number(f64),
    Date(Date),
    Operator(Operator),
    Open,
    Close,
    OpenList,
    CloseList,
    Comma,
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Word(word) => write!(f, "`{word}`"),
            Self::Text(text) => write!(f, "the text {text:?}"),
            Self::Number(number) => write!(f, "the number {number}"),
            Self::Date(date) => write!(f, "the date {date}"),
            Self::Operator(operator) => write!(f, "`{}`", operator.as_str()),
            Self::Open => f.write_str("`(`"),
            Self::Close => f.write_str("`)`"),
            Self::OpenList => f.write_str("`[`"),
            Self::CloseList => f.write_str("`]`"),
            Self::Comma => f.write_str("`,`"),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: TokenKind,
    column: Column,
}

impl Token {
    fn error(&self, message: String) -> ConditionSyntaxError {
        ConditionSyntaxError { column: self.column, message }
    }
}

fn lex(text: &str) -> Result<Vec<Token>, ConditionSyntaxError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = Column(i + 1);
        let error = |message: String| ConditionSyntaxError { column, message };
        let single = match c {
            '(' => Some(TokenKind::Open),
            ')' => Some(TokenKind::Close),
            '[' => Some(TokenKind::OpenList),
            ']' => Some(TokenKind::CloseList),
            ',' => Some(TokenKind::Comma),
            _ => None,
        };
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if let Some(kind) = single {
            tokens.push(Token { kind, column });
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).copied();
        let two = |op| (Some(TokenKind::Operator(op)), 2);
        let (operator, width) = match (c, next) {
            ('=', Some('=')) => two(Operator::Equal),
            ('!', Some('=')) => two(Operator::NotEqual),
            ('<', Some('=')) => two(Operator::LessOrEqual),
            ('>', Some('=')) => two(Operator::GreaterOrEqual),
            ('<', _) => (Some(TokenKind::Operator(Operator::Less)), 1),
            ('>', _) => (Some(TokenKind::Operator(Operator::Greater)), 1),
            ('=', _) => return Err(error("write `==` to compare, not `=`".into())),
            ('!', _) => return Err(error("write `not` for negation, not `!`".into())),
            ('&' | '|', _) => return Err(error("write `and` and `or`, not `&&` or `||`".into())),
            _ => (None, 0),
        };
        if let Some(kind) = operator {
            tokens.push(Token { kind, column });
            i += width;
            continue;
        }
        if c == '"' || c == '\'' {
            let close =
                chars[i + 1..].iter().position(|&d| d == c).ok_or_else(|| error("this text is not closed".into()))?;
            let content: String = chars[i + 1..i + 1 + close].iter().collect();
            tokens.push(Token { kind: TokenKind::Text(content), column });
            i += close + 2;
            continue;
        }
        let starts_number = c.is_ascii_digit() || (c == '-' && next.is_some_and(|d| d.is_ascii_digit()));
        if starts_number || c.is_alphabetic() || c == '_' {
            let len = chars[i..]
                .iter()
                .position(|&d| !(d.is_alphanumeric() || matches!(d, '_' | '.' | '-')))
                .unwrap_or(chars.len() - i);
            let word: String = chars[i..i + len].iter().collect();
            i += len;
            let kind = if starts_number {
                number_or_date(&word)
                    .ok_or_else(|| error(format!("{word:?} is neither a number nor a date (YYYY-MM-DD)")))?
            } else {
                match word.as_str() {
                    "in" => TokenKind::Operator(Operator::In),
                    "any_of" => TokenKind::Operator(Operator::AnyOf),
                    "all_of" => TokenKind::Operator(Operator::AllOf),
                    "none_of" => TokenKind::Operator(Operator::NoneOf),
                    _ => TokenKind::Word(word),
                }
            };
            tokens.push(Token { kind, column });
            continue;
        }
        return Err(error(format!("{c:?} cannot appear in a condition")));
    }
    Ok(tokens)
}

fn number_or_date(word: &str) -> Option<TokenKind> {
    if word.len() == 10 && word.as_bytes().get(4) == Some(&b'-') {
        return word.parse::<Date>().ok().map(TokenKind::Date);
    }
    word.parse::<f64>().ok().filter(|n| n.is_finite()).map(TokenKind::Number)
}

/// How deep brackets and `not` may nest: a condition is a line in a flow file, not a program.
const MAX_DEPTH: usize = 32;

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    end: Column,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self, expected: &str) -> Result<Token, ConditionSyntaxError> {
        let token = self.tokens.get(self.at).cloned().ok_or_else(|| ConditionSyntaxError {
            column: self.end,
            message: format!("the condition ends where {expected} was expected"),
        })?;
        self.at += 1;
        Ok(token)
    }

    fn condition(&mut self, depth: usize) -> Result<Condition, ConditionSyntaxError> {
        let first = self.term(depth)?;
        let joiner = match self.peek() {
            Some(Token { kind: TokenKind::Word(w), .. }) if w == "and" || w == "or" => w.clone(),
            _ => return Ok(first),
        };
        let mut parts = vec![first];
        while let Some(Token { kind: TokenKind::Word(word), column }) = self.peek().cloned() {
            if word != "and" && word != "or" {
                break;
            }
            if word != joiner {
                return Err(ConditionSyntaxError {
                    column,
                    message: "`and` and `or` are mixed here: add brackets to say which comes first".into(),
                });
            }
            self.at += 1;
            parts.push(self.term(depth)?);
        }
        Ok(if joiner == "and" { Condition::All(parts) } else { Condition::Any(parts) })
    }

    fn term(&mut self, depth: usize) -> Result<Condition, ConditionSyntaxError> {
        let token = self.next("a condition")?;
        if depth >= MAX_DEPTH {
            return Err(token.error(format!("brackets and `not` nest more than {MAX_DEPTH} deep")));
        }
        match &token.kind {
            TokenKind::Open => {
                let inner = self.condition(depth + 1)?;
                self.expect(&TokenKind::Close, "`)`")?;
                Ok(inner)
            }
            TokenKind::Word(word) if word == "not" => Ok(Condition::Not(Box::new(self.term(depth + 1)?))),
            TokenKind::Word(word)
                if word == "answered" && matches!(self.peek().map(|t| &t.kind), Some(TokenKind::Open)) =>
            {
                self.at += 1;
                let target = self.next("a question such as q.section.question")?;
                let reference = reference(&target)?;
                if !matches!(reference, Reference::Answer { .. }) {
                    return Err(target.error("`answered` takes a question, such as q.section.question".into()));
                }
                self.expect(&TokenKind::Close, "`)`")?;
                Ok(Condition::Answered { reference, column: token.column })
            }
            TokenKind::Word(_) => {
                let reference = reference(&token)?;
                let Some(Token { kind: TokenKind::Operator(operator), .. }) = self.peek().cloned() else {
                    return Ok(Condition::Holds { reference, column: token.column });
                };
                self.at += 1;
                let value = self.value(operator.takes_list())?;
                Ok(Condition::Compare { reference, operator, value, column: token.column })
            }
            other => Err(token.error(format!("a condition cannot start with {other}"))),
        }
    }

    fn expect(&mut self, kind: &TokenKind, name: &str) -> Result<(), ConditionSyntaxError> {
        let token = self.next(name)?;
        if &token.kind == kind { Ok(()) } else { Err(token.error(format!("expected {name}, found {}", token.kind))) }
    }

    fn value(&mut self, list: bool) -> Result<Value, ConditionSyntaxError> {
        let token = self.next(if list { "a list such as [a, b]" } else { "a value" })?;
        if list {
            if token.kind != TokenKind::OpenList {
                return Err(token.error(format!("expected a list such as [a, b], found {}", token.kind)));
            }
            let mut values = Vec::new();
            loop {
                values.push(self.value(false)?);
                let separator = self.next("`,` or `]`")?;
                match &separator.kind {
                    TokenKind::Comma => {}
                    TokenKind::CloseList => return Ok(Value::List(values)),
                    other => return Err(separator.error(format!("expected `,` or `]`, found {other}"))),
                }
            }
        }
        match &token.kind {
            TokenKind::Word(word) if word == "yes" || word == "true" => Ok(Value::YesNo(true)),
            TokenKind::Word(word) if word == "no" || word == "false" => Ok(Value::YesNo(false)),
            TokenKind::Word(word) if !word.contains('.') => Ok(Value::Text(word.clone())),
            TokenKind::Text(text) => Ok(Value::Text(text.clone())),
            TokenKind::Number(number) => Ok(Value::Number(*number)),
            TokenKind::Date(date) => Ok(Value::Date(*date)),
            other => Err(token.error(format!("expected a value, found {other}"))),
        }
    }
}

fn reference(token: &Token) -> Result<Reference, ConditionSyntaxError> {
    let TokenKind::Word(word) = &token.kind else {
        return Err(
            token.error(format!("expected a question, organisation field or condition name, found {}", token.kind))
        );
    };
    let is_name = |part: &str| {
        !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    };
    let parts: Vec<&str> = word.split('.').collect();
    match parts.as_slice() {
        ["q", section, question] if is_name(section) && is_name(question) => {
            Ok(Reference::Answer { section: (*section).to_owned(), question: (*question).to_owned() })
        }
        ["org", field] if is_name(field) => Ok(Reference::Organisation((*field).to_owned())),
        [name] if is_name(name) && !matches!(*name, "and" | "or" | "not" | "answered" | "yes" | "no") => {
            Ok(Reference::Named((*name).to_owned()))
        }
        _ => Err(token.error(format!(
            "`{word}` is not a reference: write q.<section>.<question>, org.<field> or a condition name in lower case"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    struct World {
        facts: BTreeMap<String, Fact>,
        named: BTreeMap<String, bool>,
    }

    impl Facts for World {
        fn fact(&self, reference: &Reference) -> Option<Fact> {
            self.facts.get(&reference.to_string()).cloned()
        }
        fn named(&self, name: &str) -> Result<bool, EvaluationError> {
            self.named.get(name).copied().ok_or_else(|| EvaluationError::UnknownName(name.to_owned()))
        }
    }

    fn world() -> World {
        let facts = BTreeMap::from([
            ("org.kind".to_owned(), Fact::Text("commercial".into())),
            ("org.im1_supplier".to_owned(), Fact::YesNo(true)),
            ("q.setup.users".to_owned(), Fact::Number(1200.0)),
            ("q.setup.live_from".to_owned(), Fact::Date("2027-01-04".parse().unwrap())),
            ("q.setup.channels".to_owned(), Fact::Choices(vec!["web".into(), "app".into()])),
        ]);
        World { facts, named: BTreeMap::from([("external".to_owned(), true)]) }
    }

    fn holds(text: &str) -> bool {
        Condition::parse(text).unwrap_or_else(|e| panic!("{text}: {e}")).evaluate(&world()).unwrap()
    }

    fn syntax_error(text: &str) -> ConditionSyntaxError {
        Condition::parse(text).expect_err(text)
    }

    #[test]
    fn conditions_evaluate_against_answers_organisation_fields_and_named_conditions() {
        assert!(holds("org.im1_supplier"));
        assert!(holds("org.kind == commercial and org.im1_supplier"));
        assert!(holds("org.kind in [commercial, non_uk]"));
        assert!(!holds("org.kind in ['public_healthcare']"));
        assert!(holds("q.setup.users >= 1000 and q.setup.users < 5000"));
        assert!(holds("q.setup.live_from > 2026-12-31"));
        assert!(holds("q.setup.channels any_of [app, phone]"));
        assert!(!holds("q.setup.channels all_of [app, phone]"));
        assert!(holds("q.setup.channels none_of [phone]"));
        assert!(holds("external and not (org.kind == non_uk or q.setup.users > 10000)"));
        assert!(holds("answered(q.setup.users)"));
    }

    #[test]
    fn an_absent_answer_makes_every_comparison_false() {
        assert!(!holds("q.setup.missing == yes"));
        assert!(!holds("q.setup.missing != yes"), "absent is not 'not yes' either");
        assert!(!holds("q.setup.missing"));
        assert!(holds("not answered(q.setup.missing)"));
    }

    #[test]
    fn a_comparison_that_cannot_be_made_is_an_error_not_false() {
        let condition = Condition::parse("q.setup.users > 2026-01-01").unwrap();
        assert!(matches!(condition.evaluate(&world()), Err(EvaluationError::Mismatch { .. })));
        let condition = Condition::parse("q.setup.users").unwrap();
        assert!(matches!(condition.evaluate(&world()), Err(EvaluationError::NotYesNo { .. })));
        let condition = Condition::parse("nobody_named_this").unwrap();
        assert!(matches!(condition.evaluate(&world()), Err(EvaluationError::UnknownName(_))));
    }

    #[test]
    fn mistakes_are_reported_with_their_column() {
        let mixed = syntax_error("a and b or c");
        assert_eq!(mixed.column, Column(9));
        assert!(mixed.message.contains("add brackets"), "{mixed}");
        assert!(Condition::parse("a and (b or c)").is_ok());
        assert_eq!(syntax_error("org.kind = commercial").column, Column(10));
        assert!(syntax_error("q.setup == yes").message.contains("not a reference"));
        assert!(syntax_error("q.setup.users in commercial").message.contains("expected a list"));
        assert!(syntax_error("(a and b").message.contains("ends where `)` was expected"));
        assert!(syntax_error("answered(org.kind)").message.contains("takes a question"));
        assert!(syntax_error("a b").message.contains("after the end"));
        assert!(syntax_error("q.s.d > 2026-13-01").message.contains("neither a number nor a date"));
        assert!(syntax_error("org.kind == 'open").message.contains("not closed"));
        assert!(syntax_error(&"not ".repeat(40)).message.contains("nest more than"));
    }

    #[test]
    fn a_condition_prints_back_as_it_parses() {
        for text in [
            "a and (b or not c)",
            "not (q.a.b == yes and org.kind in [commercial, non_uk])",
            "q.a.n >= 2.5",
            "answered(q.a.b)",
        ] {
            let condition = Condition::parse(text).unwrap();
            assert_eq!(condition.to_string(), text);
            assert_eq!(Condition::parse(&condition.to_string()).unwrap(), condition);
        }
    }

    #[test]
    fn references_are_listed_for_the_loader_to_check() {
        let condition = Condition::parse("q.a.b == yes or (external and answered(q.c.d))").unwrap();
        let names: Vec<String> = condition.references().iter().map(|(r, _)| r.to_string()).collect();
        assert_eq!(names, ["q.a.b", "external", "q.c.d"]);
    }

    proptest! {
        /// No input makes the parser panic or hang: it answers a condition or an error.
        #[test]
        fn any_text_parses_or_fails_cleanly(text in "\\PC{0,80}") {
            let _ = Condition::parse(&text);
        }

        #[test]
        fn any_mix_of_the_language_s_own_pieces_parses_or_fails_cleanly(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "q.a.b", "org.kind", "named", "and", "or", "not", "answered", "(", ")", "[", "]", ",", "==",
                    "!=", "<", ">=", "in", "any_of", "yes", "no", "12", "-3.5", "2026-12-03", "'text'", "word",
                ]),
                0..30,
            )
        ) {
            if let Ok(condition) = Condition::parse(&pieces.join(" ")) {
                let _ = condition.evaluate(&world());
            }
        }
    }
}
