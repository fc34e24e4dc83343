//! The connecting party's journey in a real browser (WEB-1, CA-13, CA-14, CA-3, CA-6): Debian's Chromium,
//! headless, driven through chromedriver with thirtyfour. A supplier registers, creates an organisation, is
//! made onboarding contact, signs in, opens *My Connection Agreements*, sees only the default states, clicks
//! *Clear all* and sees a Cancelled one, opens an issued agreement, ticks accept and sees it Active with their
//! name and today's date; a staff member pauses a 30-day timer and the supplier sees "paused" on the page.
//!
//! What the story is about happens in the browser; set-up that is not (the staff account, agreements being
//! issued and lapsing, a terms change) goes through the service layer and the manual clock. The HTTP stories
//! run the same flows on both databases; SQLite is enough here.
//!
//! Needs `chromium` and `chromium-driver` (CI installs them). Without them the story is skipped with a
//! message, unless `CI` is set, when it fails.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use common::{PASSWORD, TestApp};
use onramp_domain::agreement::{Actor, long_date};
use onramp_domain::{Clock, StaffRole};
use onramp_service::lifecycle;
use onramp_store::testing::TestDatabase;
use thirtyfour::extensions::query::ElementPollerWithTimeout;
use thirtyfour::prelude::*;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMIUM_FLAGS: [&str; 8] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];
/// How long chromedriver may take to say it has started.
const STARTUP_LIMIT: Duration = Duration::from_secs(30);
/// How long an element may take to appear (polled every 50 ms), for example the next page after a click.
const ELEMENT_LIMIT: Duration = Duration::from_secs(15);

const SUPPLIER_EMAIL: &str = "olu@acme.example";
const SUPPLIER_NAME: &str = "Olu Owner";
const STAFF_EMAIL: &str = "agreements@provider.example";
const STAFF_NAME: &str = "Aisha Agreements";

#[tokio::test]
async fn web1_a_supplier_accepts_in_the_browser_and_sees_a_paused_terms_change() {
    let Some(chromedriver) = ChromeDriver::start().await else { return };
    let app = common::spawn_app(TestDatabase::sqlite().await).await;
    let supplier_profile = Profile::new("supplier");
    let staff_profile = Profile::new("staff");
    let supplier = chromedriver.session(&supplier_profile).await;
    let staff = chromedriver.session(&staff_profile).await;

    // The story runs in its own task so that, pass or fail, both sessions are quit before chromedriver is
    // killed (the guards' Drop) and the panic, if any, is raised again afterwards.
    let outcome = tokio::spawn(story(app, supplier.clone(), staff.clone())).await;
    let quit = [supplier.quit().await, staff.quit().await];
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
    for result in quit {
        result.expect("the WebDriver session quits");
    }
    drop(chromedriver);
}

async fn story(app: TestApp, supplier: WebDriver, staff: WebDriver) {
    let page = Page { driver: &supplier, app: &app };

    // The supplier creates an account and signs in.
    page.open("/register").await;
    page.heading("Create an account").await;
    page.fill("email", SUPPLIER_EMAIL).await;
    page.fill("full_name", SUPPLIER_NAME).await;
    page.fill("password", PASSWORD).await;
    page.fill("confirm_password", PASSWORD).await;
    page.press("Create account").await;
    page.heading("Sign in").await;
    page.sign_in(SUPPLIER_EMAIL, SUPPLIER_NAME).await;

    // SEC-1: the account page asks for the address to be confirmed; the supplier opens the mailed link.
    page.open("/account").await;
    page.heading("Your account").await;
    page.open(&common::verification_path(&app, SUPPLIER_EMAIL).await).await;
    page.heading("Your email address is confirmed").await;

    // ORG-1: registers the organisation, then nominates themself as onboarding contact.
    page.open("/organisation").await;
    page.heading("Register your organisation").await;
    page.fill("name", "Acme Health").await;
    page.fill("ods_code", "X26").await;
    page.fill("company_number", "01234567").await;
    page.fill("registered_address", "1 High Street\nLeeds").await;
    page.click_id("kind-commercial").await;
    page.fill("delivery_notice_mailbox", "notices@acme.example").await;
    page.press("Register organisation").await;
    page.heading("Acme Health").await;
    page.press("Nominate me as onboarding contact").await;
    page.success("onboarding contact").await;
    let column = "count(//thead/tr/th[normalize-space()='Onboarding contact']/preceding-sibling::th) + 1";
    let cell = format!("//tbody/tr[td[normalize-space()='{SUPPLIER_EMAIL}']]/td[{column}]");
    page.wait_for(&cell, Some("Yes"), "the supplier's Onboarding contact cell saying Yes").await;

    // Set-up: the agreement team issues one contract that runs out (cancelled after 90 days), then one to
    // accept. The jump also ends the supplier's session, so they sign in again.
    let team = common::account(&app, STAFF_EMAIL, STAFF_NAME, vec![StaffRole::AgreementTeam], None).await;
    let organisation = app.context.store.organisations().await.unwrap().remove(0);
    let (lapsed, current) = common::lapsed_then_issued(&app, &team, organisation.id).await;
    let (lapsed, current) = (lapsed.number.to_string(), current.number.to_string());

    // CA-13: My Connection Agreements shows Active and Draft / Under Review only; "Clear all" shows the rest.
    page.open("/agreements").await;
    page.heading("Sign in").await;
    page.sign_in(SUPPLIER_EMAIL, SUPPLIER_NAME).await;
    page.open("/agreements").await;
    page.heading("My Connection Agreements").await;
    assert_eq!(page.rows().await, [row(&current, "Draft", "Under Review")]);
    page.click_link("Clear all").await;
    page.wait_for("//p[starts-with(normalize-space(), 'Showing agreements in every state')]", None, "every state")
        .await;
    assert_eq!(page.rows().await, [row(&current, "Draft", "Under Review"), row(&lapsed, "Cancelled", "")]);

    // CA-14 and CA-3: the agreement page says what happens next; accepting needs the tick.
    page.click_link(&current).await;
    page.heading(&current).await;
    let next = page.text("//div[@id='what-happens-next']/p").await;
    assert!(next.contains("An onboarding contact must accept it by") && next.contains("90 days left"), "{next}");
    page.press("Accept agreement").await;
    page.wait_for("//h2[@id='error-summary-title']", Some("There is a problem"), "the error summary").await;
    assert_eq!(page.summary("State").await, "Draft");
    page.click_id("read_and_understood").await;
    assert!(supplier.find(By::Id("read_and_understood")).await.unwrap().is_selected().await.unwrap());
    page.press("Accept agreement").await;
    page.wait_for(&summary_xpath("State"), Some("Active"), "the State row saying Active").await;
    page.success("accepted").await;
    let today = long_date(onramp_domain::calendar::date_of(app.clock.now()));
    assert_eq!(page.summary("Accepted By").await, SUPPLIER_NAME);
    assert_eq!(page.summary("Accepted On").await, today);
    assert_eq!(page.summary("Start Date").await, today);
    assert_eq!(page.text("//main//p/strong[contains(@class, 'tag')]").await, "Active");

    // Set-up: terms version 7 is published; the Active agreement's successor is an Auto Accepted draft with a
    // 30-day timer, which the supplier opens from the list.
    lifecycle::publish_terms(&app.context, 7, Actor::System { process: "test".into() }, 10, None).await.unwrap();
    let draft =
        app.context.store.agreements_of(organisation.id).await.unwrap().into_iter().find(|a| a.is_pending()).unwrap();
    let draft = draft.number.to_string();
    page.open("/agreements").await;
    page.heading("My Connection Agreements").await;
    assert_eq!(page.rows().await, [row(&draft, "Draft", "Under Review"), row(&current, "Active", "")]);
    page.click_link(&draft).await;
    page.heading(&draft).await;
    assert_eq!(page.summary("Signature type").await, "Auto Accepted");
    let next = page.text("//div[@id='what-happens-next']/p").await;
    assert!(next.contains("Auto-accepts on") && next.contains("30 days left"), "{next}");

    // CA-6: a staff member, in their own browser, pauses the 30-day timer on that draft's page.
    let desk = Page { driver: &staff, app: &app };
    desk.open("/sign-in").await;
    desk.sign_in(STAFF_EMAIL, STAFF_NAME).await;
    desk.open("/agreements").await;
    desk.heading("Connection Agreements").await;
    desk.click_link(&draft).await;
    desk.heading(&draft).await;
    desk.press("Pause the 30-day timer").await;
    desk.wait_for("//button[normalize-space()='Resume the 30-day timer']", None, "the Resume button").await;
    desk.success("paused").await;

    // The supplier reloads the page and sees that the timer is paused, and by whom.
    supplier.refresh().await.unwrap();
    page.heading(&draft).await;
    let next = page.text("//div[@id='what-happens-next']/p").await;
    // The page counts the time left as the ledger does (London days and hours).
    let remain = "30 days 0 hours of review remain";
    assert!(next.starts_with(&format!("Paused since {today}")) && next.contains(remain), "{next}");
    let paused = page.text("//table//tr[td[3][normalize-space()='paused']]").await;
    assert!(paused.contains(STAFF_NAME) && paused.contains("30 days 0 hours"), "{paused}");
    page.wait_for("//h2", Some("Raise a query"), "the query form").await;
    assert!(
        supplier.find_all(By::XPath("//button[starts-with(normalize-space(), 'Pause')]")).await.unwrap().is_empty(),
        "the supplier has no staff actions"
    );

    // WEB-1: a focused link in the header reads dark on yellow, at least 3:1 (WCAG 1.4.11).
    page.open("/").await;
    page.heading("Connect to").await;
    let contrast = page.focused_header_link_contrast().await;
    assert!(contrast >= 3.0, "the focused header link's contrast is {contrast:.2}:1");

    // WEB-1: the pages both users reached, the pages around them and their error states pass axe-core's
    // WCAG 2.0, 2.1 and 2.2 A and AA rules, describe every field by its hint and error, and do not scroll
    // sideways at 320 px (WCAG 1.4.10). The main ones are photographed at 1280 and 320 px when
    // ONRAMP_TEST_SCREENSHOTS names a folder (docs/screenshots holds the committed set).
    let inspector = Inspector::load();
    let case = app.context.store.agreement_by_number(current.parse().unwrap()).await.unwrap().unwrap().case_number;
    let case = format!("/cases/{}", case.expect("the issued agreement has a case"));
    let (current_page, draft_page) = (format!("/agreements/{current}"), format!("/agreements/{draft}"));
    for (path, shot) in [
        ("/", Some("supplier-home")),
        ("/agreements", Some("supplier-agreements")),
        ("/agreements?all=1", None),
        (current_page.as_str(), Some("supplier-agreement-active")),
        (draft_page.as_str(), Some("supplier-agreement-paused")),
        ("/cases", None),
        (case.as_str(), Some("supplier-case")),
        ("/organisation", Some("supplier-organisation")),
        ("/account", None),
        ("/applications", Some("supplier-applications")),
        ("/no-such-page", Some("supplier-not-found")),
    ] {
        inspector.inspect(&page, path, shot).await;
    }
    for (path, shot) in [
        ("/agreements", Some("staff-agreements")),
        ("/agreements?days_left=soon", Some("staff-agreements-refused-filter")),
        ("/staff/agreements/new", Some("staff-new-contract")),
        ("/staff/terms", Some("staff-terms")),
        ("/staff/terms/7", None),
        ("/staff/mail", None),
        ("/staff/flows", None),
        ("/staff/flows/standard-api", None),
        ("/staff/organisations", Some("staff-organisations")),
        ("/applications", None),
        (draft_page.as_str(), Some("staff-agreement-paused")),
        (case.as_str(), None),
        ("/no-such-page", None),
    ] {
        inspector.inspect(&desk, path, shot).await;
    }
    desk.open("/staff/agreements/new").await;
    desk.press("Create the contract").await;
    desk.wait_for("//h2[@id='error-summary-title']", None, "the error summary").await;
    inspector.check(&desk, "a refused new contract", Some("staff-new-contract-refused")).await;
    page.open("/").await;
    page.press("Sign out").await;
    page.heading("Sign in").await;
    for (path, shot) in [
        ("/", Some("public-home")),
        ("/sign-in", Some("public-sign-in")),
        ("/register", None),
        ("/password-reset", None),
        ("/flows", None),
        ("/flows/standard-api", Some("public-flow")),
    ] {
        inspector.inspect(&page, path, shot).await;
    }
    page.open("/register").await;
    page.press("Create account").await;
    page.wait_for("//h2[@id='error-summary-title']", None, "the error summary").await;
    inspector.check(&page, "a refused registration", Some("public-register-refused")).await;
}

/// Checks every page the story visits for what a person needs of it: axe-core's WCAG rules (when its
/// script is given), fields described by their hints and errors, no sideways scrolling at 320 px, and
/// (when `ONRAMP_TEST_SCREENSHOTS` names a folder) a picture of it at 1280 and 320 px.
struct Inspector {
    axe: Option<Axe>,
    screenshots: Option<PathBuf>,
}

/// Every hint and error message on the page (`.nhsuk-hint[id]`, `.nhsuk-error-message[id]`) whose form
/// group holds a field that does not name it in `aria-describedby`.
const UNDESCRIBED: &str = r#"
const missing = [];
for (const note of document.querySelectorAll('.nhsuk-hint[id], .nhsuk-error-message[id]')) {
  const group = note.closest('.nhsuk-form-group');
  if (!group) { missing.push(note.id + ' (outside a form group)'); continue; }
  const fields = [...group.querySelectorAll('input:not([type=hidden]), select, textarea, fieldset')];
  const described = fields.some(f => (f.getAttribute('aria-describedby') || '').split(/\s+/).includes(note.id));
  if (!described) missing.push(note.id);
}
return missing;
"#;

/// How far the page is wider than the window, in CSS pixels (0: no sideways scrolling), and the innermost
/// elements that reach past its right edge, to say what to fix.
const OVERFLOW: &str = r#"
const width = document.documentElement.clientWidth;
const wider = [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > width + 0.5)
  .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > width + 0.5))
  .slice(0, 5)
  .map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ').join('.') : '') + ' ' + Math.round(e.getBoundingClientRect().right));
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node && wider.length < 5; node = walker.nextNode()) {
  const range = document.createRange(); range.selectNodeContents(node);
  if (range.getBoundingClientRect().right > width + 0.5) wider.push('text ' + JSON.stringify(node.textContent.trim().slice(0, 60)));
}
return { overflow: document.documentElement.scrollWidth - width, width, wider };
"#;

/// The tables that have to be scrolled sideways to be read: at 1280 px every column must show.
const CLIPPED_TABLES: &str = r#"
return [...document.querySelectorAll('.nhsuk-table-container')]
  .filter(c => c.scrollWidth > c.clientWidth + 1)
  .map(c => ({ scroll: c.scrollWidth, client: c.clientWidth, caption: (c.querySelector('caption') || {}).textContent }));
"#;

const WIDE: u32 = 1280;
const NARROW: u32 = 320;

impl Inspector {
    fn load() -> Self {
        let screenshots = std::env::var_os("ONRAMP_TEST_SCREENSHOTS").map(PathBuf::from);
        if let Some(folder) = &screenshots {
            std::fs::create_dir_all(folder).unwrap();
        }
        Self { axe: Axe::load(), screenshots }
    }

    async fn inspect(&self, page: &Page<'_>, path: &str, shot: Option<&str>) {
        page.open(path).await;
        page.wait_for("//main", None, "the page's main landmark").await;
        self.check(page, path, shot).await;
    }

    async fn check(&self, page: &Page<'_>, what: &str, shot: Option<&str>) {
        if let Some(axe) = &self.axe {
            axe.check(page, what).await;
        }
        let missing = page.driver.execute(UNDESCRIBED, Vec::new()).await.unwrap().json().clone();
        assert_eq!(missing.as_array().map(Vec::len), Some(0), "fields not described by {missing} on {what}");
        page.resize(WIDE, 900).await;
        let clipped = page.driver.execute(CLIPPED_TABLES, Vec::new()).await.unwrap().json().clone();
        assert_eq!(clipped.as_array().map(Vec::len), Some(0), "tables cut off at {WIDE} px on {what}: {clipped}");
        if let (Some(folder), Some(name)) = (&self.screenshots, shot) {
            page.photograph(&folder.join(format!("{name}-{WIDE}.png")), WIDE).await;
        }
        page.resize(NARROW, 900).await;
        let overflow = page.driver.execute(OVERFLOW, Vec::new()).await.unwrap().json().clone();
        assert_eq!(overflow["overflow"].as_i64(), Some(0), "{what} scrolls sideways at {NARROW} px: {overflow}");
        if let (Some(folder), Some(name)) = (&self.screenshots, shot) {
            page.photograph(&folder.join(format!("{name}-{NARROW}.png")), NARROW).await;
        }
        page.resize(WIDE, 900).await;
    }
}

/// axe-core, the accessibility rules engine, injected into the page under test. Its script comes from npm
/// (`.ci/run` installs it and sets `ONRAMP_TEST_AXE_JS`); nothing is downloaded by the test.
struct Axe {
    source: String,
}

/// Runs axe on the whole document with the WCAG A and AA rules and returns the violations, shortened.
const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
  .then(result => done(result.violations.map(v => ({
    rule: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')) }))))
  .catch(error => done([{ rule: 'axe failed', help: String(error) }]));
"#;

impl Axe {
    fn load() -> Option<Self> {
        match std::env::var("ONRAMP_TEST_AXE_JS") {
            Ok(path) => {
                let source =
                    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading ONRAMP_TEST_AXE_JS={path}: {e}"));
                Some(Self { source })
            }
            Err(_) if std::env::var_os("CI").is_some() => {
                panic!("CI is set but ONRAMP_TEST_AXE_JS is not: install axe-core with npm and point it at axe.min.js")
            }
            Err(_) => {
                eprintln!(
                    "SKIPPED accessibility audit: set ONRAMP_TEST_AXE_JS to axe-core's axe.min.js (npm install axe-core)"
                );
                None
            }
        }
    }

    async fn check(&self, page: &Page<'_>, what: &str) {
        page.driver.execute(self.source.clone(), Vec::new()).await.unwrap();
        let result = page.driver.execute_async(AXE_RUN, Vec::new()).await.unwrap();
        let violations = result.json();
        assert_eq!(violations.as_array().map(Vec::len), Some(0), "accessibility problems on {what}: {violations:#}");
    }
}

fn row(number: &str, state: &str, substate: &str) -> [String; 3] {
    [number.to_owned(), state.to_owned(), substate.to_owned()]
}

fn summary_xpath(term: &str) -> String {
    format!("//dl[contains(@class, 'summary-list')]//dt[normalize-space()='{term}']/following-sibling::dd")
}

/// One browser session on the app, with the few gestures the story needs. Every wait is for something the
/// next page shows, so a click that navigates is followed by a wait for the new page, never a fixed pause.
struct Page<'a> {
    driver: &'a WebDriver,
    app: &'a TestApp,
}

impl Page<'_> {
    async fn open(&self, path: &str) {
        self.driver.goto(format!("{}{path}", self.app.address)).await.unwrap();
    }

    /// Waits for the element at `xpath` (with exactly `text`, if given); fails with the page's URL and text.
    async fn wait_for(&self, xpath: &str, text: Option<&str>, what: &str) -> WebElement {
        // An element of the page being left goes stale under the text filter: that is "not yet", not a failure.
        let mut query = self.driver.query(By::XPath(xpath.to_owned())).desc(what).ignore_errors(true);
        if let Some(text) = text {
            query = query.with_text(text.to_owned());
        }
        match query.first().await {
            Ok(element) => element,
            Err(error) => {
                let url = self.driver.current_url().await.map(|u| u.to_string()).unwrap_or_default();
                let main = match self.driver.find(By::Tag("main")).await {
                    Ok(main) => main.text().await.unwrap_or_default(),
                    Err(_) => self.driver.source().await.unwrap_or_default(),
                };
                panic!("waiting for {what} ({xpath}, {text:?}) on {url}: {error}\n--- page ---\n{main}");
            }
        }
    }

    async fn text(&self, xpath: &str) -> String {
        self.wait_for(xpath, None, xpath).await.text().await.unwrap().trim().to_owned()
    }

    /// Waits for the page whose main heading contains `text`.
    async fn heading(&self, text: &str) {
        let xpath = format!("//h1[contains(normalize-space(), '{text}')]");
        self.wait_for(&xpath, None, &format!("the heading {text:?}")).await;
    }

    /// Types into the text field with the id `id` (its label's `for`).
    async fn fill(&self, id: &str, value: &str) {
        let field = self.wait_for(&format!("//*[@id='{id}']"), None, id).await;
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    async fn click_id(&self, id: &str) {
        self.wait_for(&format!("//*[@id='{id}']"), None, id).await.click().await.unwrap();
    }

    async fn press(&self, button: &str) {
        let xpath = format!("//button[normalize-space()='{button}']");
        self.wait_for(&xpath, None, &format!("the button {button:?}")).await.click().await.unwrap();
    }

    async fn click_link(&self, text: &str) {
        let xpath = format!("//main//a[normalize-space()='{text}']");
        self.wait_for(&xpath, None, &format!("the link {text:?}")).await.click().await.unwrap();
    }

    /// Signs in on the sign-in page and waits for the header to name the user.
    async fn sign_in(&self, email: &str, name: &str) {
        self.heading("Sign in").await;
        self.fill("email", email).await;
        self.fill("password", PASSWORD).await;
        self.press("Sign in").await;
        let who = format!("Signed in as {name}");
        self.wait_for("//nav[@aria-label='Account']//li", Some(&who), "the signed-in header").await;
    }

    /// Waits for the success banner an action leaves, containing `words`.
    async fn success(&self, words: &str) {
        let xpath = format!(
            "//div[contains(@class, 'nhsuk-notification-banner--success')]//p[contains(normalize-space(), '{words}')]"
        );
        self.wait_for(&xpath, None, &format!("a success message about {words:?}")).await;
    }

    async fn resize(&self, width: u32, height: u32) {
        self.driver.set_window_rect(0, 0, width, height).await.unwrap();
    }

    /// Saves the whole page at `width` as a PNG: the window is made as tall as the page first.
    async fn photograph(&self, file: &Path, width: u32) {
        self.resize(width, 900).await;
        let script = "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight;";
        let height = self.driver.execute(script, Vec::new()).await.unwrap();
        let height = height.json().as_u64().unwrap_or(900).clamp(600, 8000) as u32;
        self.resize(width, height).await;
        let png = self.driver.screenshot_as_png().await.unwrap();
        std::fs::write(file, png).unwrap();
    }

    /// Tabs from the top of the page to the first link of the header's account navigation and measures
    /// its text against its background (WCAG contrast ratio).
    async fn focused_header_link_contrast(&self) -> f64 {
        let link = "document.activeElement.classList.contains('nhsuk-header__account-link')";
        for _ in 0..10 {
            self.driver.action_chain().send_keys(Key::Tab).perform().await.unwrap();
            if self.driver.execute(format!("return {link};"), Vec::new()).await.unwrap().json().as_bool() == Some(true)
            {
                let colours = self.driver.execute(FOCUSED_COLOURS, Vec::new()).await.unwrap().json().clone();
                let colour = |key: &str| parse_rgb(colours[key].as_str().unwrap_or_default());
                return contrast(colour("text"), colour("background"));
            }
        }
        panic!("tabbing never reached a link of the header's account navigation");
    }

    /// The value of one row of the agreement page's summary list.
    async fn summary(&self, term: &str) -> String {
        self.text(&summary_xpath(term)).await
    }

    /// The list's rows as (number, state, substate), the columns found by their headings.
    async fn rows(&self) -> Vec<[String; 3]> {
        let table = self.wait_for("//main//table[tbody]", None, "the agreements table").await;
        let mut headings = Vec::new();
        for th in table.find_all(By::XPath("./thead/tr/th")).await.unwrap() {
            headings.push(th.text().await.unwrap().trim().to_owned());
        }
        let column = |name: &str| {
            headings.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name:?} in {headings:?}"))
        };
        let wanted = [column("Number"), column("State"), column("Substate")];
        let mut rows = Vec::new();
        for tr in table.find_all(By::XPath("./tbody/tr")).await.unwrap() {
            let mut cells = Vec::new();
            for td in tr.find_all(By::Tag("td")).await.unwrap() {
                cells.push(td.text().await.unwrap().trim().to_owned());
            }
            rows.push(wanted.map(|i| cells[i].clone()));
        }
        rows
    }
}

/// The focused element's text colour and the first opaque background behind it.
const FOCUSED_COLOURS: &str = r#"
const el = document.activeElement;
let node = el, background = 'rgb(255, 255, 255)';
while (node && node.nodeType === 1) {
  const colour = getComputedStyle(node).backgroundColor;
  if (colour !== 'transparent' && !colour.endsWith(', 0)')) { background = colour; break; }
  node = node.parentElement;
}
return { text: getComputedStyle(el).color, background };
"#;

fn parse_rgb(css: &str) -> [f64; 3] {
    let inner = css.trim_start_matches("rgba(").trim_start_matches("rgb(").trim_end_matches(')');
    let parts: Vec<f64> = inner.split(',').take(3).map(|p| p.trim().parse().unwrap()).collect();
    [parts[0], parts[1], parts[2]]
}

/// WCAG 2 contrast ratio of two sRGB colours.
fn contrast(a: [f64; 3], b: [f64; 3]) -> f64 {
    let luminance = |c: [f64; 3]| {
        let channel = |v: f64| {
            let v = v / 255.0;
            if v <= 0.03928 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2])
    };
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// The chromedriver child process, killed when dropped (also when the story panics).
struct ChromeDriver {
    child: Child,
    url: String,
}

impl ChromeDriver {
    /// Starts chromedriver on a free port and waits until it says it has started. `None` (with a message)
    /// when the browser is not installed and `CI` is unset.
    async fn start() -> Option<Self> {
        let missing: Vec<&str> = [CHROMEDRIVER, CHROMIUM].into_iter().filter(|p| !Path::new(p).exists()).collect();
        if !missing.is_empty() {
            if std::env::var_os("CI").is_some() {
                panic!("CI is set but {} is missing: install chromium and chromium-driver", missing.join(" and "));
            }
            eprintln!("SKIPPED browser story: install chromium and chromium-driver");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromedriver starts");
        // Both streams are read to the end by threads (a full pipe would stall chromedriver); the stdout
        // reader reports the readiness line, or the end of the stream if chromedriver exits first.
        let log = Arc::new(Mutex::new(String::new()));
        let (ready, started) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let stdout_log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let is_ready = line.contains("ChromeDriver was started successfully");
                stdout_log.lock().unwrap().push_str(&format!("{line}\n"));
                if is_ready {
                    let _ = ready.send(true);
                }
            }
            let _ = ready.send(false);
        });
        let stderr = child.stderr.take().unwrap();
        let stderr_log = log.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(stderr).read_to_string(&mut text);
            stderr_log.lock().unwrap().push_str(&text);
        });
        let started = tokio::task::spawn_blocking(move || started.recv_timeout(STARTUP_LIMIT)).await.unwrap();
        let this = Self { child, url: format!("http://127.0.0.1:{port}") };
        if started != Ok(true) {
            let log = log.lock().unwrap().clone();
            panic!("chromedriver did not start within {STARTUP_LIMIT:?} ({started:?}):\n{log}");
        }
        Some(this)
    }

    /// A new headless Chromium session with its own profile directory.
    async fn session(&self, profile: &Profile) -> WebDriver {
        let mut capabilities = DesiredCapabilities::chrome();
        capabilities.set_binary(CHROMIUM).unwrap();
        for flag in CHROMIUM_FLAGS {
            capabilities.add_arg(flag).unwrap();
        }
        capabilities.add_arg(&format!("--user-data-dir={}", profile.0.display())).unwrap();
        let started = Instant::now();
        WebDriver::builder(self.url.clone(), capabilities)
            .poller(Arc::new(ElementPollerWithTimeout::new(ELEMENT_LIMIT, Duration::from_millis(50))))
            .await
            .unwrap_or_else(|e| panic!("a Chromium session starts (after {:?}): {e}", started.elapsed()))
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh `--user-data-dir` in the temp directory, removed when dropped.
struct Profile(PathBuf);

impl Profile {
    fn new(who: &str) -> Self {
        let path = std::env::temp_dir().join(format!("onramp-chromium-{who}-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
