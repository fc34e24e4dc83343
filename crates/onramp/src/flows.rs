//! `onramp flow check FILE…` (DOS-1): loads each flow file (a folder means its `*.toml` files), runs its
//! scenarios and prints every problem as `file:line:column: reason`. Any problem makes the command fail.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use onramp_domain::catalogue::ProductCatalogue;
use onramp_domain::flow::{FlowCatalogue, file};

/// The flow files named by `paths`: files as given, folders as their `*.toml` files in name order.
fn flow_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot read the folder {}", path.display()))?
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|file| file.extension().is_some_and(|ext| ext == "toml"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

pub fn check(paths: &[PathBuf], products: Option<&Path>) -> anyhow::Result<()> {
    if paths.is_empty() {
        anyhow::bail!("name the flow files or folders to check, e.g. `onramp flow check flows/`");
    }
    let files = flow_files(paths)?;
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let mut problems = 0;
    let mut broken = 0;
    let mut loaded = Vec::new();
    for path in &files {
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) => {
                writeln!(err, "{name}: cannot read it: {error}")?;
                problems += 1;
                broken += 1;
                continue;
            }
        };
        match file::load(&name, &text) {
            Ok(flow) => {
                writeln!(out, "{}", summary(path, &flow))?;
                loaded.push((name, text));
            }
            Err(found) => {
                broken += 1;
                problems += found.len();
                for problem in found {
                    writeln!(err, "{problem}")?;
                }
            }
        }
    }
    // What holds only across files: one id per flow, and shared sections defined alike.
    let catalogue = match FlowCatalogue::load(loaded.iter().map(|(name, text)| (name.as_str(), text.as_str()))) {
        Ok(catalogue) => Some(catalogue),
        Err(found) => {
            let files: std::collections::BTreeSet<&str> = found.iter().map(|p| p.file.as_str()).collect();
            broken += files.len();
            problems += found.len();
            for problem in &found {
                writeln!(err, "{problem}")?;
            }
            None
        }
    };
    let mut checked = files.len();
    if let (Some(path), Some(catalogue)) = (products, &catalogue) {
        checked += 1;
        let found = check_products(path, catalogue);
        if found.is_empty() {
            writeln!(out, "{}: the product catalogue holds", path.display())?;
        } else {
            broken += 1;
            problems += found.len();
            for problem in found {
                writeln!(err, "{problem}")?;
            }
        }
    }
    if problems > 0 {
        anyhow::bail!("{problems} problem(s) in {broken} of {checked} file(s)");
    }
    Ok(())
}

/// The problems of a product catalogue file, checked against the flows that loaded.
fn check_products(path: &Path, flows: &FlowCatalogue) -> Vec<String> {
    let name = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => return vec![format!("{name}: cannot read it: {error}")],
    };
    match ProductCatalogue::load(&name, &text, flows) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.iter().map(ToString::to_string).collect(),
    }
}

fn summary(path: &Path, flow: &file::Flow) -> String {
    let questions: usize = flow.stages.iter().flat_map(|s| &s.sections).map(|s| s.questions.len()).sum();
    format!(
        "{}: {} (version {}): {} stages, {} questions, {} scenarios hold",
        path.display(),
        flow.name,
        flow.version,
        flow.stages.len(),
        questions,
        flow.scenarios.len()
    )
}
