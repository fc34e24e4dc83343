use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use onramp_service::AppContext;

use crate::WebError;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    provider: String,
    organisations: usize,
}

pub async fn home(State(context): State<AppContext>) -> Result<Html<String>, WebError> {
    let provider = context.store.provider().await?.map_or_else(|| context.config.provider.name.clone(), |p| p.name);
    let organisations = context.store.organisations().await?.len();
    Ok(Html(HomePage { provider, organisations }.render()?))
}

pub async fn not_found() -> WebError {
    WebError::NotFound
}

pub async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../assets/onramp.css"),
    )
}
