//! Evidence files on the section pages (DOS-1, DOS-3): the uploads of a multipart section form, streamed one
//! file at a time into the service, and downloads, which only the organisation and staff reach and which are
//! always saved rather than shown in the browser.

use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use onramp_domain::User;
use onramp_domain::application::{ApplicationError, ApplicationId, SectionKey};
use onramp_service::AppContext;
use onramp_service::application_files::{self, EvidenceServiceError};
use onramp_service::applications::ApplicationServiceError;
use onramp_service::evidence::{ChunkSource, UploadError};
use uuid::Uuid;

use crate::WebError;
use crate::forms::{self, capitalised};
use crate::session::Visitor;

/// A file field of the form, as the service reads an upload.
struct FieldChunks(multer::Field<'static>);

impl ChunkSource for FieldChunks {
    type Chunk = Bytes;
    type Error = multer::Error;

    async fn next_chunk(&mut self) -> Result<Option<Bytes>, multer::Error> {
        self.0.chunk().await
    }
}

fn unreadable(error: &multer::Error) -> WebError {
    tracing::info!(%error, "a multipart form could not be read");
    match error {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            WebError::BadRequest("The upload is larger than the portal takes in one go.".into())
        }
        _ => WebError::BadRequest("The form stopped before its end. Try again.".into()),
    }
}

/// Reads a multipart section form: every `file-<question>` field with a file in it is uploaded to that
/// question, in order; the other fields are returned as text. A refused file is returned as a problem beside
/// its question (the rest of the form is still read); any other failure ends the request.
pub async fn take_in(
    context: &AppContext,
    user: &User,
    application: ApplicationId,
    section: &SectionKey,
    mut multipart: multer::Multipart<'static>,
) -> Result<(Vec<(String, String)>, BTreeMap<String, String>), WebError> {
    let mut fields = Vec::new();
    let mut refused: BTreeMap<String, String> = BTreeMap::new();
    while let Some(field) = multipart.next_field().await.map_err(|e| unreadable(&e))? {
        let name = field.name().unwrap_or_default().to_owned();
        let Some(question) = name.strip_prefix("file-").map(str::to_owned) else {
            // Read as bytes and checked strictly: multer's `text()` would replace what is not UTF-8 (SEC-3).
            let bytes = field.bytes().await.map_err(|e| unreadable(&e))?;
            forms::check_field(&name, &bytes)?;
            fields.push((name, String::from_utf8_lossy(&bytes).into_owned()));
            continue;
        };
        forms::check_field(&name, &[])?;
        // A file input left empty still sends a part, with no file name and no content.
        let file_name = field.file_name().unwrap_or_default().to_owned();
        if file_name.is_empty() || refused.contains_key(&question) {
            continue;
        }
        match application_files::upload(context, user, application, section, &question, &file_name, FieldChunks(field))
            .await
        {
            Ok(_) => {}
            Err(EvidenceServiceError::Upload(UploadError::Refused(rule))) => {
                refused.insert(question, capitalised(&rule.to_string()));
            }
            Err(EvidenceServiceError::Application(ApplicationServiceError::Rule(
                rule @ (ApplicationError::TooManyFiles(_)
                | ApplicationError::QuestionHidden
                | ApplicationError::NotEvidence(_)),
            ))) => {
                refused.insert(question, capitalised(&rule.to_string()));
            }
            Err(other) => return Err(other.into()),
        }
    }
    Ok((fields, refused))
}

/// An evidence file, to save: `Content-Disposition: attachment` with its name, its own media type, and
/// `nosniff` and a sandbox so that nothing in it runs on the portal's origin.
pub async fn download(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path((application, file)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let application = Uuid::parse_str(application.trim()).map(ApplicationId).map_err(|_| WebError::NotFound)?;
    let file = Uuid::parse_str(file.trim()).map_err(|_| WebError::NotFound)?;
    let (record, content) = application_files::download(&context, user, application, file).await?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(content));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(record.file_type.media_type()));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(record.size));
    if let Ok(disposition) = HeaderValue::from_str(&attachment(&record.file_name)) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266): an ASCII stand-in for old clients and the name
/// itself, percent-encoded.
fn attachment(name: &str) -> String {
    let plain: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{plain}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::attachment;

    #[test]
    fn a_download_is_named_as_uploaded_and_saved() {
        assert_eq!(attachment("DPIA v2.pdf"), "attachment; filename=\"DPIA v2.pdf\"; filename*=UTF-8''DPIA%20v2.pdf");
        assert_eq!(
            attachment("Évaluation \"final\".docx"),
            "attachment; filename=\"_valuation _final_.docx\"; filename*=UTF-8''%C3%89valuation%20%22final%22.docx"
        );
    }
}
