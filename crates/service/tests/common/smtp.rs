//! A real SMTP server on loopback for the mail stories: `tests/smtp_sink.py` on Debian's `python3-aiosmtpd`,
//! run as a child process. [`SmtpSink::start`] picks a free port, starts the server and waits for it to say
//! `READY` on its stdout (no sleeping); [`SmtpSink::stop`] and [`SmtpSink::restart`] take it down and bring
//! it back on the same port; [`SmtpSink::received`] reads what it accepted, parsed as MIME. The process is
//! killed when the sink is dropped.
//!
//! Without aiosmtpd the stories are skipped with a notice, except under CI (`CI` set), where that is a failure.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use mailparse::MailHeaderMap;
use onramp_service::config::{SmtpSecurity, SmtpSettings};

/// Debian's interpreter, which has `python3-aiosmtpd`; the `python3` on PATH may be another one.
pub const PYTHON: &str = "/usr/bin/python3";
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_sink.py");

#[derive(Debug)]
pub struct SmtpSink {
    port: u16,
    directory: PathBuf,
    child: Option<Child>,
}

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope: `MAIL FROM` and `RCPT TO`.
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// The headers, decoded (RFC 2047 words, unfolded).
    pub subject: String,
    pub from_name: Option<String>,
    pub from_address: String,
    pub to: Vec<String>,
    pub message_id: String,
    /// The body parts, with their transfer encoding undone.
    pub text: Option<String>,
    pub html: Option<String>,
    pub raw: String,
}

/// Whether aiosmtpd can be used here; otherwise says why and returns false, or panics under CI.
pub fn aiosmtpd_available(story: &str) -> bool {
    let found = Command::new(PYTHON)
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{story}: `{PYTHON} -c 'import aiosmtpd'` fails; CI must install python3-aiosmtpd"
        );
        eprintln!("SKIPPED {story}: {PYTHON} has no aiosmtpd (apt-get install python3-aiosmtpd)");
    }
    found
}

impl SmtpSink {
    /// A running server on a free loopback port, or `None` (after saying so) when aiosmtpd is missing.
    pub fn start(story: &str) -> Option<Self> {
        if !aiosmtpd_available(story) {
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let directory = std::env::temp_dir().join(format!("onramp-smtp-sink-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&directory).unwrap();
        let mut sink = Self { port, directory, child: None };
        sink.restart();
        Some(sink)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Settings that send to this server, without TLS or credentials.
    pub fn settings(&self) -> SmtpSettings {
        SmtpSettings {
            host: "127.0.0.1".into(),
            port: Some(self.port),
            security: SmtpSecurity::Plain,
            username: None,
            password: None,
            timeout_seconds: 10,
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server and waits for it to end: its port refuses connections afterwards.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (stopping it first if it runs), and returns once it listens.
    pub fn restart(&mut self) {
        self.stop();
        let mut child = Command::new(PYTHON)
            .arg(SCRIPT)
            .arg(self.port.to_string())
            .arg(&self.directory)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {PYTHON} {SCRIPT}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        // The readiness signal: the script prints READY once its server answers. EOF means it died.
        let read = BufReader::new(stdout).read_line(&mut line);
        if !matches!(read, Ok(n) if n > 0) || line.trim() != "READY" {
            let _ = child.kill();
            let status = child.wait();
            panic!("the SMTP sink on port {} did not start: read {read:?} {line:?}, exit {status:?}", self.port);
        }
        self.child = Some(child);
    }

    /// Every message received so far, in the order they arrived.
    pub fn received(&self) -> Vec<Received> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.directory)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        names.iter().map(|path| parse(&std::fs::read_to_string(path).unwrap())).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

fn parse(file: &str) -> Received {
    let record: serde_json::Value = serde_json::from_str(file).unwrap();
    let raw = record["data"].as_str().unwrap().to_owned();
    let mail = mailparse::parse_mail(raw.as_bytes()).unwrap_or_else(|e| panic!("{e}: {raw}"));
    let header = |name: &str| mail.headers.iter().find(|h| h.get_key().eq_ignore_ascii_case(name));
    let from = header("From").map(|h| mailparse::addrparse_header(h).unwrap()).unwrap();
    let (from_name, from_address) = match from.clone().extract_single_info() {
        Some(single) => (single.display_name, single.addr),
        None => panic!("From is not one address: {from:?}"),
    };
    let mut to = Vec::new();
    if let Some(h) = header("To") {
        for address in mailparse::addrparse_header(h).unwrap().iter() {
            match address {
                mailparse::MailAddr::Single(single) => to.push(single.addr.clone()),
                mailparse::MailAddr::Group(group) => to.extend(group.addrs.iter().map(|a| a.addr.clone())),
            }
        }
    }
    let mut text = None;
    let mut html = None;
    collect_parts(&mail, &mut text, &mut html);
    Received {
        mail_from: record["mail_from"].as_str().unwrap().to_owned(),
        rcpt_tos: record["rcpt_tos"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_owned()).collect(),
        subject: mail.headers.get_first_value("Subject").unwrap_or_default(),
        from_name,
        from_address,
        to,
        message_id: mail.headers.get_first_value("Message-ID").unwrap_or_default().trim().to_owned(),
        text,
        html,
        raw,
    }
}

fn collect_parts(part: &mailparse::ParsedMail<'_>, text: &mut Option<String>, html: &mut Option<String>) {
    if part.subparts.is_empty() {
        let body = part.get_body().unwrap();
        match part.ctype.mimetype.as_str() {
            "text/plain" => assert!(text.replace(body).is_none(), "two text/plain parts"),
            "text/html" => assert!(html.replace(body).is_none(), "two text/html parts"),
            other => panic!("unexpected part {other}"),
        }
    }
    for sub in &part.subparts {
        collect_parts(sub, text, html);
    }
}
