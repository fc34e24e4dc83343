use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use onramp_service::AppContext;

use crate::WebError;
use crate::session::Visitor;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    visitor: &'a Visitor,
    provider: String,
    demo: bool,
}

pub async fn home(State(context): State<AppContext>, visitor: Visitor) -> Result<impl IntoResponse, WebError> {
    let provider = context.store.provider().await?.map_or_else(|| context.config.provider.name.clone(), |p| p.name);
    let html = HomePage { visitor: &visitor, provider, demo: context.demo_clock.is_some() }.render()?;
    Ok((visitor.cookies(&context), Html(html)))
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
