//! What a form page needs to show its errors (the error-summary pattern) and keep what the user typed.

use std::collections::HashMap;

use onramp_domain::{FieldError, FieldErrors};

use crate::WebError;

#[derive(Debug, Clone, Default)]
pub struct FormView {
    pub errors: FieldErrors,
    values: HashMap<&'static str, String>,
}

impl FormView {
    pub fn new(errors: FieldErrors, values: impl IntoIterator<Item = (&'static str, String)>) -> Self {
        Self { errors, values: values.into_iter().collect() }
    }

    /// What the user typed into `field`, to show again.
    pub fn value(&self, field: &str) -> &str {
        self.values.get(field).map_or("", String::as_str)
    }

    pub fn error(&self, field: &str) -> Option<&FieldError> {
        self.errors.for_field(field)
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    pub fn all_errors(&self) -> Vec<&FieldError> {
        self.errors.iter().collect()
    }
}

/// Rule messages are written to follow a colon ("agreement: already accepted"); on a page they start a sentence.
pub fn capitalised(message: &str) -> String {
    let mut chars = message.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// A posted form as it arrived: urlencoded fields (read whole by the CSRF check), or a multipart form whose
/// token was checked and whose other fields are still to be streamed.
#[derive(Debug)]
pub enum PostedForm {
    Fields(Vec<(String, String)>),
    Multipart(multer::Multipart<'static>),
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for PostedForm {
    type Rejection = crate::WebError;

    async fn from_request(mut request: axum::extract::Request, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(checked) = request.extensions_mut().remove::<crate::csrf::CheckedMultipart>() {
            return Ok(Self::Multipart(checked.take()?));
        }
        // The CSRF check already read the body into memory, within its limit.
        let bytes = axum::body::to_bytes(request.into_body(), usize::MAX)
            .await
            .map_err(|_| crate::WebError::BadRequest("The form could not be read.".into()))?;
        let fields = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| crate::WebError::BadRequest("The form could not be read.".into()))?;
        Ok(Self::Fields(fields))
    }
}

/// Fields typed into a `<textarea>`, where tab, line feed and carriage return belong: the multi-line fields of
/// every form, and every answer to a flow question (`q-…`), whose parser refuses line breaks in one-line
/// answers itself.
fn is_multi_line(field: &str) -> bool {
    matches!(field, "body" | "comment" | "description" | "reason" | "registered_address")
        || field.starts_with("comment-")
        || field.starts_with("q-")
}

/// SEC-3: a form field's text as the browser sent it must be UTF-8 without control characters (NUL among
/// them); only a multi-line field may hold tab, line feed and carriage return. The refusal names the field.
/// Every urlencoded form and query string is checked by the CSRF layer and every multipart text field by
/// the section form, so no handler sees such text and nothing of it is stored or shown.
pub fn check_field(name: &str, value: &[u8]) -> Result<(), WebError> {
    check_text("the name of a field", name.as_bytes(), false)?;
    check_text(&format!("The field “{name}”"), value, is_multi_line(name))
}

fn check_text(what: &str, text: &[u8], multi_line: bool) -> Result<(), WebError> {
    let Ok(text) = std::str::from_utf8(text) else {
        return Err(WebError::UnacceptableText(format!(
            "{} is not valid UTF-8 text. Nothing was saved: go back, type it again and send the form again.",
            capitalised(what)
        )));
    };
    let allowed = |c: char| multi_line && matches!(c, '\t' | '\n' | '\r');
    match text.chars().find(|&c| c.is_control() && !allowed(c)) {
        None => Ok(()),
        Some(c) => {
            let kind = match c {
                '\0' => "a NUL byte",
                '\n' | '\r' => "a line break, which only a box of several lines may hold",
                '\t' => "a tab, which only a box of several lines may hold",
                _ => "a hidden control character",
            };
            Err(WebError::UnacceptableText(format!(
                "{} contains {kind} (U+{:04X}). Nothing was saved: go back, remove it and send the form again.",
                capitalised(what),
                u32::from(c)
            )))
        }
    }
}

/// Checks every name and value of a urlencoded form or query string with [`check_field`], decoded strictly
/// (`serde_urlencoded`, and so axum's `Form`, would replace bytes that are not UTF-8 with U+FFFD and go on).
pub fn check_urlencoded(encoded: &[u8]) -> Result<(), WebError> {
    for pair in encoded.split(|&b| b == b'&').filter(|pair| !pair.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &[][..]),
        };
        let name = percent_decoded(name);
        let Ok(name) = std::str::from_utf8(&name) else {
            return check_text("the name of a field", &name, false);
        };
        check_field(name, &percent_decoded(value))?;
    }
    Ok(())
}

/// `application/x-www-form-urlencoded` decoding to bytes: `+` is a space, `%XX` a byte; a `%` not followed by
/// two hex digits stays as it is (as the WHATWG URL standard decodes it).
fn percent_decoded(input: &[u8]) -> Vec<u8> {
    let hex = |b: u8| char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let mut bytes = Vec::with_capacity(input.len());
    let mut rest = input;
    while let Some((&first, tail)) = rest.split_first() {
        rest = tail;
        match first {
            b'+' => bytes.push(b' '),
            b'%' => match (tail.first().copied().and_then(hex), tail.get(1).copied().and_then(hex)) {
                (Some(high), Some(low)) => {
                    bytes.push(high * 16 + low);
                    rest = &tail[2..];
                }
                _ => bytes.push(b'%'),
            },
            other => bytes.push(other),
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(encoded: &str) -> Option<String> {
        check_urlencoded(encoded.as_bytes()).err().map(|error| error.to_string())
    }

    #[test]
    fn sec3_text_must_be_utf8_without_control_characters() {
        assert_eq!(refusal("csrf_token=abc&name=Acme+Health+%C3%89tude&kind=commercial"), None);
        assert_eq!(refusal("registered_address=1+High+St%0D%0ALeeds%09LS1"), None, "a multi-line field");
        assert_eq!(refusal("q-purpose=line+one%0Aline+two&comment-q-purpose=a%0Ab"), None);
        assert_eq!(refusal("next=%2Fagreements%3Fpage%3D2&empty=&flag"), None);
        assert_eq!(refusal("discount=100%25+off&odd=%zz%4"), None, "a stray % is kept, not refused");

        let nul = refusal("csrf_token=abc&name=Acme%00Health").unwrap_or_default();
        assert!(nul.contains("“name”") && nul.contains("NUL") && nul.contains("U+0000"), "{nul}");
        let invalid = refusal("name=Acme%FFHealth").unwrap_or_default();
        assert!(invalid.contains("“name”") && invalid.contains("not valid UTF-8"), "{invalid}");
        let overlong = refusal("name=%C0%80").unwrap_or_default();
        assert!(overlong.contains("not valid UTF-8"), "{overlong}");
        let line_break = refusal("name=Acme%0AHealth").unwrap_or_default();
        assert!(line_break.contains("“name”") && line_break.contains("line break"), "{line_break}");
        let bell = refusal("body=ring%07").unwrap_or_default();
        assert!(bell.contains("“body”") && bell.contains("U+0007"), "{bell}");
        assert!(refusal("body=%C2%85").is_some_and(|m| m.contains("U+0085")), "a C1 control");
        assert!(refusal("na%00me=x").is_some_and(|m| m.contains("The name of a field")));
        assert!(refusal("%FF=x").is_some_and(|m| m.contains("The name of a field")));
    }

    #[test]
    fn percent_decoding_reads_plus_and_escapes() {
        assert_eq!(percent_decoded(b"a+b%20c%2b%"), b"a b c+%");
        assert_eq!(percent_decoded(b"%e2%82%ac"), "€".as_bytes());
    }
}
