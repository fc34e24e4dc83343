//! The binary as an operator meets it: start-up with demo data, readiness, graceful stop, and bad
//! configuration refused at once with one line naming the setting (OPS-2, CLI-1).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use onramp_domain::StaffRole;
use onramp_domain::agreement::Substate;

const ONRAMP: &str = env!("CARGO_BIN_EXE_onramp");

/// A fresh working directory, so `./onramp.db` and `./onramp.toml` never leak between tests.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("onramp-cli-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let path = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `onramp` run in `dir`, with no `ONRAMP_` variables inherited from the test's own environment.
fn onramp(dir: &WorkDir) -> Command {
    let mut command = Command::new(ONRAMP);
    command.current_dir(dir.path()).env_remove("RUST_LOG");
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("ONRAMP_")) {
        command.env_remove(key);
    }
    command
}

/// Waits for the process to exit, killing it and failing the test if it takes longer than `limit`.
fn exit_within(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("onramp did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn refused(configure: impl FnOnce(&mut Command)) -> String {
    let dir = WorkDir::new();
    let mut command = onramp(&dir);
    command.arg("serve").stdout(Stdio::piped()).stderr(Stdio::piped());
    configure(&mut command);
    let output = exit_within(command.spawn().unwrap(), Duration::from_secs(10));
    assert!(!output.status.success(), "onramp should refuse to start");
    let stderr = String::from_utf8_lossy(&output.stderr).trim_end().to_owned();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(!dir.path().join("onramp.db").exists(), "no database file is created for bad configuration");
    stderr
}

#[test]
fn a_malformed_listen_address_is_refused_naming_the_variable() {
    let stderr = refused(|c| {
        c.env("ONRAMP_LISTEN", "localhost:eighty");
    });
    assert!(stderr.contains("setting `listen` (from environment variable ONRAMP_LISTEN)"), "{stderr}");
}

#[test]
fn an_unreachable_postgres_url_is_refused_naming_the_setting() {
    let stderr = refused(|c| {
        c.env("ONRAMP_DATABASE_URL", "postgres://postgres:secret@127.0.0.1:1/onramp");
    });
    assert!(stderr.contains("setting `database_url`"), "{stderr}");
    assert!(stderr.contains("Connection refused"), "{stderr}");
    assert!(!stderr.contains("secret"), "the password is never shown: {stderr}");
}

#[test]
fn a_mysql_url_is_refused_naming_the_setting() {
    let stderr = refused(|c| {
        c.args(["--database-url", "mysql://root@127.0.0.1/onramp"]);
    });
    assert!(stderr.contains("setting `database_url`") && stderr.contains("\"mysql\""), "{stderr}");
}

#[test]
fn an_unknown_key_in_the_configuration_file_is_refused() {
    let dir = WorkDir::new();
    std::fs::write(dir.path().join("onramp.toml"), "lisen = \"127.0.0.1:9999\"\n").unwrap();
    let child = onramp(&dir).arg("serve").stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    let output = exit_within(child, Duration::from_secs(10));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("setting `lisen` (in onramp.toml): unknown field"), "{stderr}");
}

#[test]
fn migrate_creates_the_schema_and_can_run_twice() {
    let dir = WorkDir::new();
    for _ in 0..2 {
        let child = onramp(&dir).arg("migrate").stderr(Stdio::piped()).spawn().unwrap();
        let output = exit_within(child, Duration::from_secs(30));
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    assert!(dir.path().join("onramp.db").exists());
}

#[tokio::test]
async fn serve_demo_prints_where_to_open_it_answers_ready_and_stops_on_sigterm() {
    let dir = WorkDir::new();
    let mut child = onramp(&dir)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // The banner is the readiness signal: read it line by line, no sleeping.
    let banner = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .take_while(|line| !line.starts_with("Press Ctrl-C"))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let first = banner.first().cloned().unwrap_or_default();
    let address = first
        .strip_prefix("Onramp is ready at ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected banner: {banner:?}"))
        .to_owned();
    assert!(banner.iter().any(|l| l.contains("onramp-demo-password")), "{banner:?}");
    assert!(banner.iter().any(|l| l.contains("agreements@onramp.example")), "{banner:?}");

    let ready = reqwest::get(format!("{address}readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let home = reqwest::get(&address).await.unwrap().text().await.unwrap();
    assert!(home.contains("This is a demo: nothing is sent"), "{home}");
    assert!(!home.contains("organisations are registered"), "the public page does not count them: {home}");

    // Time travel: 91 days on, every contract still under review has passed its deadline; the running
    // server's worker picks up the moved clock and cancels them (CA-4 in demo mode).
    let moved = run_ok(&dir, &["demo", "advance", "--days", "91"]);
    assert!(moved.contains("2184 hours ahead"), "{moved}");
    let url = onramp_store::DatabaseUrl::parse(&format!("sqlite:{}", dir.path().join("onramp.db").display())).unwrap();
    let store = onramp_store::connect(&url, &onramp_store::ConnectOptions::default()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let agreements = store.all_agreements().await.unwrap();
        let under_review = agreements.iter().filter(|a| a.substate == Some(Substate::UnderReview)).count();
        if under_review == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the demo worker did not fire the moved-on deadlines");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    store.close().await;

    // NOT-2: with no SMTP configured the demo's mail goes to the mail folder beside the database, and the
    // mail page (open to everyone in demo mode) lists it.
    let banner_mail = banner.iter().find(|l| l.starts_with("Mail the demo sends:")).cloned().unwrap_or_default();
    assert!(banner_mail.contains("/staff/mail"), "{banner:?}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let written = loop {
        let files: Vec<_> = std::fs::read_dir(dir.path().join("mail"))
            .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        if files.iter().any(|f| std::fs::read_to_string(f).is_ok_and(|eml| eml.contains("has been cancelled"))) {
            break files;
        }
        assert!(Instant::now() < deadline, "the demo wrote no cancellation mail to the mail folder: {files:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(written.iter().all(|f| f.extension().is_some_and(|e| e == "eml")), "{written:?}");
    let log = reqwest::get(format!("{address}staff/mail")).await.unwrap();
    assert_eq!(log.status(), 200);
    let log = log.text().await.unwrap();
    assert!(log.contains("has been cancelled"), "{log}");

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let output = exit_within(child, Duration::from_secs(10));
    assert!(output.status.success(), "a SIGTERM is a clean stop");
}

fn run_ok(dir: &WorkDir, args: &[&str]) -> String {
    let child = onramp(dir).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let output = exit_within(child, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "onramp {args:?} failed: {stderr}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn ca12_aud2_import_then_verify_audit_and_name_a_tampered_entry() {
    let dir = WorkDir::new();
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/legacy-agreements.csv");

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "ods_code,organisation_name\nX26,Acme\n").unwrap();
    let child = onramp(&dir)
        .args(["import", "legacy-agreements"])
        .arg(&bad)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = exit_within(child, Duration::from_secs(60));
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("line 1"), "bad rows are listed with line numbers");
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing was imported"));

    let imported = run_ok(&dir, &["import", "legacy-agreements", sample]);
    assert!(imported.contains("Imported 5 paper agreements"), "{imported}");
    let verified = run_ok(&dir, &["verify-audit"]);
    assert!(verified.contains("Audit chains verified: 5 entries"), "{verified}");

    let url = onramp_store::DatabaseUrl::parse(&format!("sqlite:{}", dir.path().join("onramp.db").display())).unwrap();
    let edited = onramp_store::testing::execute_raw(
        &url,
        "UPDATE audit_log SET actor = 'Mallory' WHERE seq = 1 AND entity_id = 'CNTR0000003'",
    )
    .await
    .unwrap();
    assert_eq!(edited, 1);
    let child = onramp(&dir).arg("verify-audit").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let output = exit_within(child, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("entry 1 was edited"), "{stderr}");
}

#[test]
fn demo_time_only_moves_forward() {
    let dir = WorkDir::new();
    let moved = run_ok(&dir, &["demo", "advance", "--days", "30"]);
    assert!(moved.contains("720 hours ahead"), "{moved}");
    let child = onramp(&dir).args(["demo", "advance", "--days", "-1"]).stderr(Stdio::piped()).spawn().unwrap();
    assert!(!exit_within(child, Duration::from_secs(30)).status.success());
}

/// `onramp ARGS` in `dir` with `input` on standard input.
fn run_with_input(dir: &WorkDir, args: &[&str], input: &str) -> Output {
    let mut child =
        onramp(dir).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    exit_within(child, Duration::from_secs(60))
}

/// Signs in through the service, as the web form does, against the work directory's database.
async fn sign_in(dir: &WorkDir, email: &str, password: &str) -> Result<onramp_domain::User, String> {
    let url = onramp_store::DatabaseUrl::parse(&format!("sqlite:{}", dir.path().join("onramp.db").display())).unwrap();
    let store = onramp_store::connect(&url, &onramp_store::ConnectOptions::default()).await.unwrap();
    let config = onramp_service::Config { database_url: url, ..onramp_service::Config::default() };
    let clock = std::sync::Arc::new(onramp_service::clock::SystemClock);
    let context = onramp_service::AppContext::new(config, store.clone(), clock).await.unwrap();
    let result = onramp_service::accounts::sign_in(&context, email, password).await;
    store.close().await;
    result.map(|session| session.user).map_err(|e| e.to_string())
}

#[tokio::test]
async fn sec1_admin_create_user_makes_a_staff_account_that_signs_in() {
    let dir = WorkDir::new();
    let output = run_with_input(
        &dir,
        &[
            "admin",
            "create-user",
            "--email",
            "Aisha@Provider.example",
            "--name",
            "Aisha Agreements",
            "--role",
            "agreement-team",
            "--role",
            "reviewer",
            "--password-stdin",
        ],
        "a long enough passphrase\n",
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("Created staff account aisha@provider.example (Aisha Agreements)"), "{stdout}");
    assert!(stdout.contains("reviewer, agreement-team"), "{stdout}");
    assert!(!stdout.contains("passphrase") && !stdout.contains("Password:"), "a typed password is never echoed");
    let user = sign_in(&dir, "aisha@provider.example", "a long enough passphrase").await.unwrap();
    assert_eq!(user.staff_roles, [StaffRole::Reviewer, StaffRole::AgreementTeam]);
    assert!(user.membership.is_none(), "staff belong to no connecting organisation");

    // Without --password-stdin a strong password is generated and shown once.
    let generated = run_ok(
        &dir,
        &["admin", "create-user", "--email", "ada@provider.example", "--name", "Ada Admin", "--role", "admin"],
    );
    let password = generated
        .lines()
        .find_map(|line| line.strip_prefix("Password: "))
        .unwrap_or_else(|| panic!("no password line: {generated}"))
        .to_owned();
    assert!(password.len() >= 24, "{password}");
    assert!(generated.contains("securely"), "{generated}");
    let admin = sign_in(&dir, "ada@provider.example", &password).await.unwrap();
    assert_eq!(admin.staff_roles, [StaffRole::Admin]);
}

/// AUD-1: a staff member's roles are changed at the command line, the change is on the provider's audit chain
/// (which `verify-audit` then counts), and a typo changes nothing.
#[tokio::test]
async fn aud1_admin_set_roles_changes_a_staff_members_roles_on_the_provider_chain() {
    let dir = WorkDir::new();
    let create =
        ["admin", "create-user", "--email", "rita@provider.example", "--name", "Rita Reviewer", "--role", "reviewer"];
    run_ok(&dir, &create);
    let changed = run_ok(
        &dir,
        &["admin", "set-roles", "--email", "rita@provider.example", "--role", "reviewer", "--role", "live-service"],
    );
    assert!(
        changed.contains("rita@provider.example (Rita Reviewer) now has the staff roles: reviewer, live-service"),
        "{changed}"
    );
    let typo = refused_command(&dir, &["admin", "set-roles", "--email", "rita@provider.example", "--role", "boss"], "");
    assert!(typo.contains(r#"no roles changed: --role: "boss" is not a staff role"#), "{typo}");
    let unknown =
        refused_command(&dir, &["admin", "set-roles", "--email", "nobody@provider.example", "--role", "admin"], "");
    assert!(
        unknown.contains("--email: there is no account with the email address nobody@provider.example"),
        "{unknown}"
    );
    let removed = run_ok(&dir, &["admin", "set-roles", "--email", "rita@provider.example", "--no-roles"]);
    assert!(removed.contains("now has the staff roles: none (no staff access)"), "{removed}");
    let verified = run_ok(&dir, &["verify-audit"]);
    assert!(verified.contains("3 entries"), "create, change, removal: {verified}");
}

/// Runs a command that must fail; returns its one-line error.
fn refused_command(dir: &WorkDir, args: &[&str], input: &str) -> String {
    let output = run_with_input(dir, args, input);
    assert!(!output.status.success(), "onramp {args:?} should fail");
    let stderr = String::from_utf8_lossy(&output.stderr).trim_end().to_owned();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    stderr
}

#[tokio::test]
async fn sec1_admin_create_user_refuses_bad_input_and_a_taken_address_on_one_line() {
    let dir = WorkDir::new();
    let create = |email: &'static str, role: &'static str| {
        ["admin", "create-user", "--email", email, "--name", "Bo Staff", "--role", role, "--password-stdin"]
    };
    let unknown = refused_command(&dir, &create("bo@provider.example", "boss"), "a long enough passphrase\n");
    assert!(unknown.contains(r#"--role: "boss" is not a staff role"#), "{unknown}");
    assert!(unknown.contains("author, reviewer, agreement-team, live-service, admin"), "{unknown}");
    assert!(sign_in(&dir, "bo@provider.example", "a long enough passphrase").await.is_err(), "nothing was created");

    let no_role = refused_command(
        &dir,
        &["admin", "create-user", "--email", "bo@provider.example", "--name", "Bo Staff", "--password-stdin"],
        "a long enough passphrase\n",
    );
    assert!(no_role.contains("--role: give at least one role"), "{no_role}");

    let several = refused_command(&dir, &create("not-an-address", "admin"), "short\n");
    assert!(several.contains("--email:") && several.contains("password: a password must be at least 12"), "{several}");

    let empty = refused_command(&dir, &create("bo@provider.example", "admin"), "");
    assert!(empty.contains("--password-stdin"), "{empty}");

    let first = run_with_input(&dir, &create("bo@provider.example", "live-service"), "a long enough passphrase\n");
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let taken = refused_command(&dir, &create("BO@provider.example", "admin"), "another long passphrase\n");
    assert!(taken.contains("--email: an account with the email address bo@provider.example exists already"), "{taken}");
    let user = sign_in(&dir, "bo@provider.example", "a long enough passphrase").await.unwrap();
    assert_eq!(user.staff_roles, [StaffRole::LiveService], "the first account is unchanged");
}

/// DOS-1, DOS-2: the shipped flows pass `onramp flow check` with their scenarios.
#[test]
fn dos1_the_shipped_flows_pass_the_checker_with_their_scenarios() {
    let dir = WorkDir::new();
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/../../flows");
    let products = concat!(env!("CARGO_MANIFEST_DIR"), "/../../products.toml");
    let stdout = run_ok(&dir, &["flow", "check", shipped, "--products", products]);
    assert!(stdout.contains("products.toml: the product catalogue holds"), "{stdout}");
    for flow in [
        "Standard API onboarding (version 1)",
        "Identity service integration (version 1)",
        "Messaging service onboarding (version 2)",
        "Secure email access for third-party organisations (version 1)",
    ] {
        assert!(stdout.contains(flow), "{flow} did not pass: {stdout}");
    }
    assert_eq!(stdout.lines().count(), 5, "{stdout}");
}

/// SPEC §4: a product catalogue is checked against the flows named with it, every problem with its position.
#[test]
fn a_product_catalogue_that_names_a_missing_flow_fails_the_check() {
    let dir = WorkDir::new();
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/../../flows/standard-api.toml");
    let catalogue = dir.path().join("products.toml");
    std::fs::write(
        &catalogue,
        "[[products]]\nslug = \"pds-fhir\"\nname = \"PDS\"\nflows = [\"standard-api\", \"secure-email\"]\n",
    )
    .unwrap();
    let child = onramp(&dir)
        .args(["flow", "check", shipped, "--products", &catalogue.display().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = exit_within(child, Duration::from_secs(30));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr).replace(&format!("{}/", dir.path().display()), "");
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        ["products.toml:4:26: there is no flow secure-email", "onramp: 1 problem(s) in 1 of 2 file(s)"]
    );
}

/// DOS-1: a folder of broken flow files, one mistake each; every problem is named with file, line, column and
/// reason, and the command fails.
#[test]
fn dos1_flow_check_names_every_problem_with_file_line_and_column() {
    let dir = WorkDir::new();
    let broken = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/broken-flows");
    let child =
        onramp(&dir).args(["flow", "check", broken]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let output = exit_within(child, Duration::from_secs(30));
    assert!(!output.status.success(), "problems make the check fail");
    let stderr = String::from_utf8_lossy(&output.stderr).replace(&format!("{broken}/"), "");
    let expected = [
        "01-syntax.toml:2:32: invalid basic string, expected `\"`",
        "02-unknown-key.toml:17:1: unknown field `labell`, expected one of `id`, `kind`, `label`, `help`, `required`, \
         `show_when`, `required_when`, `max_chars`, `min`, `max`, `options`, `allowed_types`, `max_bytes`, `max_files`",
        "03-duplicate-id.toml:25:6: the stage id one is used twice",
        "04-unknown-question.toml:28:14: there is no question q.a.consnt; did you mean q.a.consent?",
        "05-unknown-condition.toml:28:14: there is no condition named is_larg; did you mean is_large?",
        "06-later-question.toml:17:14: q.a.kind comes later in the flow: a condition may only use earlier answers",
        "07-cycle.toml:26:8: the conditions refer to each other in a cycle: first → second → first",
        "08-operator-misfit.toml:28:14: `<` does not fit q.a.kind, a single choice question (it takes ==, !=, in)",
        "09-choice-value.toml:28:14: \"medium\" is not one of the options of q.a.kind (small, large)",
        "10-impossible-limits.toml:28:7: min (10) is above max (1)",
        "10-impossible-limits.toml:35:13: max_chars must be at least 1",
        "10-impossible-limits.toml:38:6: unknown file type \"exe\" in allowed_types; known types: pdf, docx, xlsx, \
         pptx, png, jpg, svg, mp4, csv",
        "10-impossible-limits.toml:42:13: max_bytes must be at most 104857600 (100 MB)",
        "11-gate-on-a-later-stage.toml:12:9: q.b.ready comes later in the flow: a condition may only use earlier answers",
        "12-scenario.toml:25:8: scenario \"A small one\": expected q.a.kind to be hidden, but it is shown",
        "13-shared-section-b.toml:10:1: the shared section eligibility is defined differently in flow shared-a: a \
         shared section is answered once for every flow that has it, so it must be the same in each (or not be \
         shared)",
        "onramp: 16 problem(s) in 13 of 14 file(s)",
    ];
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines, expected);
}
