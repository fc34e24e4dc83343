//! What the provider offers and asks, as staff see it (SPEC §4, DOS-1): the API catalogue as loaded, each flow
//! with every version ever loaded, and what changed between two versions, question by question. Read-only: the
//! files are the place to change them. Any staff member may read these pages; to a connecting party they do not
//! exist.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use onramp_domain::User;
use onramp_domain::calendar::long_time;
use onramp_domain::flow::diff::{Change, diff};
use onramp_domain::flow::file::{self, Flow};
use onramp_service::AppContext;
use onramp_store::StoredFlowVersion;
use serde::Deserialize;

use crate::WebError;
use crate::session::Visitor;

fn staff(visitor: &Visitor) -> Result<&User, WebError> {
    let user = visitor.require_user()?;
    if user.is_staff() { Ok(user) } else { Err(WebError::NotFound) }
}

struct ProductRow {
    slug: String,
    name: String,
    flows: Vec<(String, String)>,
    open_access: bool,
    offered: bool,
}

struct FlowRow {
    id: String,
    name: String,
    version: u32,
    products: String,
}

#[derive(Template)]
#[template(path = "staff_flows.html")]
struct CataloguePage<'a> {
    visitor: &'a Visitor,
    products: Vec<ProductRow>,
    flows: Vec<FlowRow>,
}

pub async fn catalogue(State(context): State<AppContext>, visitor: Visitor) -> Result<Response, WebError> {
    staff(&visitor)?;
    let flow_name = |id: &str| context.flows.get(id).map_or_else(|| id.to_owned(), |flow| flow.name.clone());
    let products = context
        .products
        .products()
        .iter()
        .map(|product| ProductRow {
            slug: product.slug.to_string(),
            name: product.name.clone(),
            flows: product.flows.iter().map(|id| (id.clone(), flow_name(id))).collect(),
            open_access: product.open_access,
            offered: product.offered,
        })
        .collect();
    let flows = context
        .flows
        .iter()
        .map(|flow| FlowRow {
            id: flow.id.clone(),
            name: flow.name.clone(),
            version: flow.version,
            products: context
                .products
                .offered()
                .filter(|product| product.flows.contains(&flow.id))
                .map(|product| product.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    Ok(Html(CataloguePage { visitor: &visitor, products, flows }.render()?).into_response())
}

#[derive(Debug, Deserialize)]
pub struct CompareQuery {
    from: Option<String>,
    to: Option<String>,
}

struct VersionRow {
    version: u32,
    loaded: String,
    file: String,
    sha256: String,
    in_use: bool,
}

struct ChangeRow {
    question: String,
    what: &'static str,
    detail: String,
}

/// The comparison asked for: the two versions and what changed, or why it cannot be shown.
struct Comparison {
    from: u32,
    to: u32,
    outcome: Result<Vec<ChangeRow>, String>,
}

#[derive(Template)]
#[template(path = "staff_flow_versions.html")]
struct VersionsPage<'a> {
    visitor: &'a Visitor,
    id: String,
    name: String,
    versions: Vec<VersionRow>,
    comparison: Option<Comparison>,
}

/// A stored version read back with today's checker; one that no longer loads says why.
fn reload(stored: &StoredFlowVersion) -> Result<Flow, String> {
    file::load(&stored.file, &stored.source).map_err(|problems| {
        let first = problems.first().map(ToString::to_string).unwrap_or_default();
        format!("version {} no longer loads: {first}", stored.version)
    })
}

fn rows(changes: Vec<Change>, old: &Flow, new: &Flow) -> Vec<ChangeRow> {
    let label_in = |flow: &Flow, key: &str| {
        flow.stages
            .iter()
            .flat_map(|stage| &stage.sections)
            .flat_map(|section| section.questions.iter().map(move |q| (format!("q.{}.{}", section.id, q.id), q)))
            .find(|(k, _)| k == key)
            .map(|(_, q)| q.label.clone())
            .unwrap_or_default()
    };
    changes
        .into_iter()
        .map(|change| match change {
            Change::Added { question, label } => ChangeRow { question, what: "Added", detail: label },
            Change::Removed { question, label } => ChangeRow { question, what: "Removed", detail: label },
            Change::Changed { question, parts } => {
                let was = label_in(old, &question);
                let now = label_in(new, &question);
                let label = if was == now { now } else { format!("{was} → {now}") };
                ChangeRow { detail: format!("{label} (changed: {})", parts.join(", ")), question, what: "Changed" }
            }
        })
        .collect()
}

pub async fn versions(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(id): Path<String>,
    Query(query): Query<CompareQuery>,
) -> Result<Response, WebError> {
    staff(&visitor)?;
    let stored = context.store.flow_versions(&id).await?;
    let current = context.flows.get(&id);
    let Some(name) = current.map(|flow| flow.name.clone()).or_else(|| stored.first().map(|v| v.flow_id.clone())) else {
        return Err(WebError::NotFound);
    };
    let pick = |raw: &Option<String>| -> Result<Option<&StoredFlowVersion>, WebError> {
        match raw.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(raw) => {
                let version = raw.parse::<u32>().map_err(|_| WebError::NotFound)?;
                stored.iter().find(|v| v.version == version).map(Some).ok_or(WebError::NotFound)
            }
        }
    };
    // Without a choice, the two newest versions are compared.
    let (from, to) = match (pick(&query.from)?, pick(&query.to)?) {
        (Some(from), Some(to)) => (Some(from), Some(to)),
        (None, None) if stored.len() >= 2 => (stored.get(1), stored.first()),
        _ => (None, None),
    };
    let comparison = from.zip(to).map(|(from, to)| Comparison {
        from: from.version,
        to: to.version,
        outcome: reload(from).and_then(|old| reload(to).map(|new| rows(diff(&old, &new), &old, &new))),
    });
    let versions = stored
        .iter()
        .map(|v| VersionRow {
            version: v.version,
            loaded: long_time(v.loaded_at),
            file: v.file.clone(),
            sha256: v.sha256.chars().take(12).collect(),
            in_use: current.is_some_and(|flow| flow.version == v.version),
        })
        .collect();
    Ok(Html(VersionsPage { visitor: &visitor, id, name, versions, comparison }.render()?).into_response())
}
