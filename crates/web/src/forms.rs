//! What a form page needs to show its errors (the error-summary pattern) and keep what the user typed.

use std::collections::HashMap;

use onramp_domain::{FieldError, FieldErrors};

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
