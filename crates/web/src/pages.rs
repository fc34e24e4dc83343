use askama::Template;
use axum::extract::{Path, State};
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

/// A file compiled into the binary: Onramp's stylesheet and the vendored NHS.UK frontend (`assets/nhsuk-frontend`).
struct Asset {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

const ASSETS: [Asset; 7] = [
    Asset { path: "onramp.css", content_type: CSS, bytes: include_bytes!("../assets/onramp.css") },
    Asset {
        path: "nhsuk-frontend.min.css",
        content_type: CSS,
        bytes: include_bytes!("../assets/nhsuk-frontend/nhsuk-frontend.min.css"),
    },
    Asset {
        path: "images/favicon.svg",
        content_type: SVG,
        bytes: include_bytes!("../assets/nhsuk-frontend/images/favicon.svg"),
    },
    Asset {
        path: "images/nhsuk-icon-arrow-down.svg",
        content_type: SVG,
        bytes: include_bytes!("../assets/nhsuk-frontend/images/nhsuk-icon-arrow-down.svg"),
    },
    Asset {
        path: "images/nhsuk-icon-arrow-up-down.svg",
        content_type: SVG,
        bytes: include_bytes!("../assets/nhsuk-frontend/images/nhsuk-icon-arrow-up-down.svg"),
    },
    Asset {
        path: "images/nhsuk-icon-arrow-up.svg",
        content_type: SVG,
        bytes: include_bytes!("../assets/nhsuk-frontend/images/nhsuk-icon-arrow-up.svg"),
    },
    Asset {
        path: "images/nhsuk-icon-cross.svg",
        content_type: SVG,
        bytes: include_bytes!("../assets/nhsuk-frontend/images/nhsuk-icon-cross.svg"),
    },
];

/// `/assets/{*file}`: the stylesheets and icons, cached for an hour.
pub async fn asset(Path(file): Path<String>) -> Result<impl IntoResponse, WebError> {
    let asset = ASSETS.iter().find(|asset| asset.path == file).ok_or(WebError::NotFound)?;
    Ok(([(header::CONTENT_TYPE, asset.content_type), (header::CACHE_CONTROL, "public, max-age=3600")], asset.bytes))
}

/// `/provider-logo`: the provider's own logo (`provider.logo`), read at start-up.
pub async fn provider_logo(State(context): State<AppContext>) -> Result<impl IntoResponse, WebError> {
    let logo = context.provider_logo.clone().ok_or(WebError::NotFound)?;
    Ok((
        [(header::CONTENT_TYPE, logo.content_type), (header::CACHE_CONTROL, "public, max-age=3600")],
        logo.bytes.clone(),
    ))
}
