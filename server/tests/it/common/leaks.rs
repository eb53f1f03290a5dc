//! Finding secrets where they must not be: this test binary's log at TRACE level (docs/security.md
//! B.11), every encoding a secret could be written down in, and the database at rest (A.1).

use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Registry, reload};

use super::{Backend, TestDb};

// ---- the log of this test binary (docs/security.md B.11) -------------------------------------------

/// The filter while a test captures: everything at TRACE, but the test client's cookie jar
/// (`cookie_store`, which Perch's own X client does not use): it logs every cookie the test
/// "browser" receives, which is the test's side of the wire, not Perch's log.
const CAPTURING: &str = "trace,cookie_store=off";

struct Log {
    buffer: Arc<Mutex<Vec<u8>>>,
    filter: reload::Handle<EnvFilter, Registry>,
    /// How many [`Capture`]s are alive.
    captures: Mutex<usize>,
}

fn log() -> &'static Log {
    static LOG: OnceLock<Log> = OnceLock::new();
    LOG.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let (filter, handle) = reload::Layer::new(EnvFilter::new("off"));
        let fmt = tracing_subscriber::fmt::layer().with_ansi(false).with_writer(move || LogSink(sink.clone()));
        tracing_subscriber::registry()
            .with(filter)
            .with(fmt)
            .try_init()
            .expect("no other tracing subscriber in this test binary");
        Log { buffer, filter: handle, captures: Mutex::new(0) }
    })
}

/// While held, everything this test binary logs, at TRACE, from every crate (the tests running
/// meanwhile included), is kept for [`logs`]; once the last capture ends the log is emptied and
/// logging goes off again. A test that reads the log holds one from its start. Capturing only
/// then keeps the rest of the suite from formatting TRACE output nobody reads, and the buffer
/// from growing with every test of the binary.
pub struct Capture(());

pub fn capture() -> Capture {
    let log = log();
    let mut n = log.captures.lock().unwrap();
    if *n == 0 {
        log.filter.modify(|f| *f = EnvFilter::new(CAPTURING)).unwrap();
    }
    *n += 1;
    Capture(())
}

impl Drop for Capture {
    fn drop(&mut self) {
        let log = log();
        let mut n = log.captures.lock().unwrap();
        *n -= 1;
        if *n == 0 {
            log.filter.modify(|f| *f = EnvFilter::new("off")).unwrap();
            log.buffer.lock().unwrap().clear();
        }
    }
}

pub struct LogSink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What was logged since the oldest live [`Capture`] began.
pub fn logs() -> String {
    let log = log();
    assert!(*log.captures.lock().unwrap() > 0, "read the log while holding a leaks::capture()");
    String::from_utf8_lossy(&log.buffer.lock().unwrap()).into_owned()
}

// ---- finding a secret wherever it might be written down -------------------------------------

/// Every form in which `secret` could be written down: itself, hex in both cases, and standard
/// and URL-safe base64 at each of the three alignments it can take inside a longer value (an
/// HTTP Basic header encodes `id:secret`, so the secret rarely starts a base64 group).
pub fn encodings(secret: &str) -> Vec<(String, String)> {
    let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
    let mut forms =
        vec![("plaintext".to_owned(), secret.to_owned()), ("hex".into(), hex.to_uppercase()), ("hex".into(), hex)];
    for (name, engine) in [("base64", &STANDARD), ("URL-safe base64", &URL_SAFE)] {
        for offset in 0..3 {
            let mut bytes = vec![b'x'; offset];
            bytes.extend_from_slice(secret.as_bytes());
            let encoded = engine.encode(&bytes);
            // Only the groups made of the secret's bytes alone.
            let (first, last) = (offset.div_ceil(3), bytes.len() / 3);
            forms.push((format!("{name} (offset {offset})"), encoded[4 * first..4 * last].to_owned()));
        }
    }
    forms
}

/// Which form of `secret`, if any, `haystack` holds.
pub fn find_secret(haystack: &str, secret: &str) -> Option<String> {
    encodings(secret).into_iter().find(|(_, form)| haystack.contains(form.as_str())).map(|(name, _)| name)
}

#[track_caller]
pub fn assert_no_secret(place: &str, haystack: &str, secret: &str) {
    if let Some(form) = find_secret(haystack, secret) {
        panic!("the secret {secret} is in {place} ({form})");
    }
}

/// B.8: not the secret, nor any 12 characters of it in a row.
#[track_caller]
pub fn assert_no_part_of(place: &str, haystack: &str, secret: &str) {
    assert_no_secret(place, haystack, secret);
    for i in 0..=secret.len().saturating_sub(12) {
        let part = &secret[i..(i + 12).min(secret.len())];
        assert!(!haystack.contains(part), "{place} holds `{part}`, part of the secret {secret}");
    }
}

/// What the database holds: the SQLite file and its WAL, or a `pg_dump` of the test database.
pub async fn at_rest(db: &TestDb) -> String {
    match db.backend {
        Backend::Sqlite => {
            let files = db.sqlite_files();
            assert!(files.iter().any(|f| f.to_string_lossy().ends_with("-wal")), "no WAL among {files:?}");
            let mut all = Vec::new();
            for file in files {
                all.extend(std::fs::read(&file).unwrap());
                all.push(b'\n');
            }
            // Lossy decoding keeps every ASCII byte where it was, which is all a needle has.
            String::from_utf8_lossy(&all).into_owned()
        }
        Backend::Postgres => {
            let out = Command::new("pg_dump").arg("--no-owner").arg(&db.url).output().expect("pg_dump is installed");
            assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
    }
}
