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
