//! DOS-1, DOS-3 uploads in the portal, on both databases: a supplier uploads evidence with the section form
//! (multipart, its CSRF token the first field); an oversized file, a file whose content is not an allowed type
//! and a name with path separators are refused beside their question and leave nothing on disk; the file is
//! downloaded as an attachment by the organisation and by staff, and not by another organisation; every
//! upload, removal and download is in the audit log.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::{TestApp, account, csrf_token, get, organisation, post, sign_in};
use onramp_domain::{Membership, StaffRole, TeamRole};
use reqwest::multipart::{Form, Part};

onramp_store::on_both_backends!(
    common::spawn_app;
    dos3_evidence_is_uploaded_checked_downloaded_and_removed,
);

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// Posts the section form as the browser does with a file chosen: token first, then the fields.
async fn upload(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    page: &str,
    question: &str,
    file_name: &str,
    content: Vec<u8>,
) -> reqwest::Response {
    let form = Form::new()
        .text("csrf_token", csrf_token(page))
        .part(format!("file-{question}"), Part::bytes(content).file_name(file_name.to_owned()))
        .text("intent", "upload");
    client.post(format!("{}{path}", app.address)).multipart(form).send().await.unwrap()
}

/// The files in the evidence folder, kept or half-written.
fn on_disk(app: &TestApp) -> Vec<String> {
    let folder = app.context.config.evidence_folder();
    let Ok(entries) = std::fs::read_dir(folder) else { return Vec::new() };
    let mut names: Vec<String> = entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

async fn dos3_evidence_is_uploaded_checked_downloaded_and_removed(app: TestApp) {
    let acme = organisation(&app, "ACM01").await;
    let owner = Membership { organisation_id: acme.id, role: TeamRole::Owner, onboarding_contact: true };
    account(&app, "olu@acme.example", "Olu Owner", vec![], Some(owner)).await;
    let beacon = organisation(&app, "BEA01").await;
    let other = Membership { organisation_id: beacon.id, role: TeamRole::Owner, onboarding_contact: true };
    account(&app, "bea@beacon.example", "Bea Other", vec![], Some(other)).await;
    account(&app, "rory@provider.example", "Rory Reviewer", vec![StaffRole::Reviewer], None).await;
    let supplier = sign_in(&app, "olu@acme.example").await;
    let stranger = sign_in(&app, "bea@beacon.example").await;
    let reviewer = sign_in(&app, "rory@provider.example").await;

    let page = get(&app, &supplier, "/applications").await;
    let started =
        post(&app, &supplier, "/applications", &page, &[("product_name", "Acme Notify"), ("product", "nhs-notify")])
            .await;
    let application = started.headers()["location"].to_str().unwrap().to_owned();
    let section = format!("{application}/sections/messaging-service.security_controls");
    let form = get(&app, &supplier, &section).await;
    assert!(form.contains(r#"enctype="multipart/form-data""#), "{form}");
    assert!(form.contains(r#"name="file-dspt_evidence""#) && form.contains(" multiple"), "{form}");
    assert!(form.contains("PDF, PNG image or JPEG image, up to 5 MB each; at most 2 files."), "{form}");

    // A multipart form without its token first is refused before anything is read.
    let forged = Form::new()
        .part("file-dspt_evidence", Part::bytes(PDF.to_vec()).file_name("toolkit.pdf"))
        .text("csrf_token", csrf_token(&form));
    let forged = supplier.post(format!("{}{section}", app.address)).multipart(forged).send().await.unwrap();
    assert_eq!(forged.status(), 403);

    let refusals = [
        ("big.pdf", [PDF, &vec![b' '; 5 * 1024 * 1024]].concat(), "the file must be 5 mb or smaller"),
        (
            "toolkit.pdf",
            b"name,score\nAcme,standards met\n".to_vec(),
            "the file must be a pdf, png image or jpeg image",
        ),
        ("../../etc/toolkit.pdf", PDF.to_vec(), "the file name must not contain / or"),
        ("C:\\Users\\olu\\toolkit.pdf", PDF.to_vec(), "the file name must not contain / or"),
    ];
    for (name, content, reason) in refusals {
        let refused = upload(&app, &supplier, &section, &form, "dspt_evidence", name, content).await;
        assert_eq!(refused.status(), 422, "{name}");
        let refused = refused.text().await.unwrap();
        assert!(refused.contains(r##"href="#q-dspt_evidence""##), "{name}: {refused}");
        assert!(refused.to_lowercase().contains(reason), "{name}: {reason}: {refused}");
        assert!(on_disk(&app).is_empty(), "{name} left {:?}", on_disk(&app));
    }
    assert!(app.context.store.evidence_of(application_id(&application)).await.unwrap().is_empty());

    let kept = upload(&app, &supplier, &section, &form, "dspt_evidence", "DSPT 2026.pdf", PDF.to_vec()).await;
    assert_eq!(kept.status(), 303);
    assert!(kept.headers()["location"].to_str().unwrap().ends_with("#files"));
    let files = app.context.store.evidence_of(application_id(&application)).await.unwrap();
    assert_eq!(files.len(), 1);
    let file = &files[0];
    assert_eq!(on_disk(&app), [file.id.simple().to_string()], "kept under its id, never its name");
    let form = get(&app, &supplier, &section).await;
    let download = format!("{application}/files/{}", file.id);
    assert!(form.contains(&download) && form.contains("DSPT 2026.pdf") && form.contains("Remove"), "{form}");

    for (who, client) in [("the organisation", &supplier), ("staff", &reviewer)] {
        let response = client.get(format!("{}{download}", app.address)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{who}");
        assert_eq!(response.headers()["content-type"], "application/pdf");
        assert_eq!(
            response.headers()["content-disposition"],
            "attachment; filename=\"DSPT 2026.pdf\"; filename*=UTF-8''DSPT%202026.pdf"
        );
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        // The download's own sandbox policy is kept: the site's policy is added only where none was set.
        let policies: Vec<_> = response.headers().get_all("content-security-policy").iter().collect();
        assert_eq!(policies, ["sandbox; default-src 'none'"], "{who}");
        assert_eq!(response.headers()["x-frame-options"], "DENY");
        assert_eq!(response.headers()["referrer-policy"], "same-origin");
        assert_eq!(response.bytes().await.unwrap(), PDF, "{who}");
    }
    let refused = stranger.get(format!("{}{download}", app.address)).send().await.unwrap();
    assert_eq!(refused.status(), 404, "another organisation cannot download it");
    let anonymous = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let anonymous = anonymous.get(format!("{}{download}", app.address)).send().await.unwrap();
    assert_eq!(anonymous.status(), 303, "sign in first");

    let removed = post(&app, &supplier, &section, &form, &[("intent", &format!("remove-{}", file.id))]).await;
    assert_eq!(removed.status(), 303);
    assert!(app.context.store.evidence_of(application_id(&application)).await.unwrap().is_empty());
    assert!(on_disk(&app).is_empty(), "a removed file is deleted");

    let id = application_id(&application).0.to_string();
    let audit: Vec<_> =
        app.context.store.audit_records().await.unwrap().into_iter().filter(|entry| entry.entity_id == id).collect();
    let actions: Vec<&str> = audit.iter().map(|entry| entry.action.as_str()).collect();
    for action in ["evidence_upload", "evidence_download", "evidence_remove"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let downloads = audit.iter().filter(|entry| entry.action == "evidence_download").count();
    assert_eq!(downloads, 2, "one for the organisation, one for staff; the refused one is not a download");
}

fn application_id(location: &str) -> onramp_domain::application::ApplicationId {
    let id = location.rsplit('/').next().unwrap();
    onramp_domain::application::ApplicationId(uuid::Uuid::parse_str(id).unwrap())
}
