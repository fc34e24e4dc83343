//! Evidence uploads (DOS-1, DOS-3): a file is streamed into the folder under a random id and checked by its
//! content; whatever is refused, fails or is abandoned leaves nothing in the folder.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use onramp_domain::evidence::{EvidenceError, FileType};
use onramp_domain::flow::file::Limits;
use onramp_service::evidence::{
    ChunkSource, FileStore, FolderFileStore, ReadChunks, StoredUpload, UploadError, store_upload,
};

/// A folder of its own under the temp directory, removed at the end.
struct TempFolder(PathBuf);

impl TempFolder {
    fn new() -> Self {
        Self(std::env::temp_dir().join(format!("onramp-evidence-test-{}", uuid::Uuid::new_v4().simple())))
    }

    fn store(&self) -> FolderFileStore {
        FolderFileStore::new(self.0.clone())
    }

    /// The names of what is in the folder (nothing when it was never made).
    fn contents(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.0) else { return Vec::new() };
        let mut names: Vec<String> =
            entries.map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn question(types: &[&str], max_bytes: u64, max_files: u32) -> Limits {
    Limits {
        allowed_types: types.iter().map(|t| (*t).to_owned()).collect(),
        max_bytes: Some(max_bytes),
        max_files: Some(max_files),
        ..Limits::default()
    }
}

/// A PDF of about 200 KB, so it arrives in several chunks.
fn pdf() -> Vec<u8> {
    let mut pdf = b"%PDF-1.7\n".to_vec();
    for line in 0..20_000 {
        pdf.extend_from_slice(format!("line {line}\n").as_bytes());
    }
    pdf.extend_from_slice(b"%%EOF\n");
    pdf
}

/// `sha256sum` of [`pdf`].
const PDF_SHA256: &str = "e600f764f9a81a2055561a5591573d70991bc84d24c077f97dff28ff32e099c6";

fn png(size: usize) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.resize(size, 7);
    png
}

async fn upload(
    files: &FolderFileStore,
    limits: &Limits,
    name: &str,
    bytes: &[u8],
) -> Result<StoredUpload, UploadError> {
    store_upload(files, limits, 0, name, ReadChunks(bytes)).await
}

/// Chunks of 1 KiB, without end, counting how many were asked for.
struct Endless {
    first: Vec<u8>,
    given: Arc<AtomicUsize>,
}

impl ChunkSource for Endless {
    type Chunk = Vec<u8>;
    type Error = std::io::Error;

    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, std::io::Error> {
        let given = self.given.fetch_add(1, Ordering::SeqCst);
        let mut chunk = if given == 0 { self.first.clone() } else { Vec::new() };
        chunk.resize(1024, b'x');
        Ok(Some(chunk))
    }
}

/// Some chunks, then a failure (the browser went away) or a wait without end (the request is cancelled).
struct Stops {
    chunks: Vec<Vec<u8>>,
    hang: bool,
}

impl ChunkSource for Stops {
    type Chunk = Vec<u8>;
    type Error = String;

    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, String> {
        if !self.chunks.is_empty() {
            return Ok(Some(self.chunks.remove(0)));
        }
        if self.hang {
            std::future::pending::<()>().await;
        }
        Err("connection reset".into())
    }
}

#[tokio::test]
async fn a_good_pdf_is_stored_under_a_random_id_and_read_back_identical() {
    let folder = TempFolder::new();
    let files = folder.store();
    let content = pdf();
    let limits = question(&["pdf", "docx"], 1024 * 1024, 3);
    let stored = upload(&files, &limits, "  Penetration test.pdf ", &content).await.unwrap();
    assert_eq!(stored.file_name, "Penetration test.pdf");
    assert_eq!((stored.file_type, stored.size), (FileType::Pdf, u64::try_from(content.len()).unwrap()));
    assert_eq!(stored.sha256, PDF_SHA256);
    assert_eq!(folder.contents(), [stored.id.simple().to_string()], "kept under its id, not its name");
    assert_eq!(files.read(stored.id).await.unwrap(), Some(content));

    assert!(files.remove(stored.id).await.unwrap());
    assert!(!files.remove(stored.id).await.unwrap());
    assert_eq!(files.read(stored.id).await.unwrap(), None);
    assert!(files.open(uuid::Uuid::new_v4()).await.unwrap().is_none());
    assert!(folder.contents().is_empty());
}

#[tokio::test]
async fn an_oversized_file_is_refused_as_soon_as_it_is_too_large_and_nothing_is_left() {
    let folder = TempFolder::new();
    let files = folder.store();
    let limits = question(&["pdf"], 100 * 1024, 1);
    let refused = upload(&files, &limits, "big.pdf", &pdf()).await.unwrap_err();
    assert!(matches!(refused, UploadError::Refused(EvidenceError::TooLarge { max: 102_400 })), "{refused:?}");
    assert_eq!(refused.to_string(), "The file must be 100 KB or smaller");
    assert!(folder.contents().is_empty(), "{:?}", folder.contents());

    let given = Arc::new(AtomicUsize::new(0));
    let endless = Endless { first: b"%PDF-1.7\n".to_vec(), given: given.clone() };
    let refused = store_upload(&files, &limits, 0, "endless.pdf", endless).await.unwrap_err();
    assert!(matches!(refused, UploadError::Refused(EvidenceError::TooLarge { .. })), "{refused:?}");
    assert_eq!(given.load(Ordering::SeqCst), 101, "it stopped at the first chunk past the limit");
    assert!(folder.contents().is_empty(), "{:?}", folder.contents());

    let empty = upload(&files, &limits, "empty.pdf", b"").await.unwrap_err();
    assert!(matches!(empty, UploadError::Refused(EvidenceError::Empty)), "{empty:?}");
    assert!(folder.contents().is_empty());
}

#[tokio::test]
async fn a_png_named_report_pdf_is_refused_by_its_content() {
    let folder = TempFolder::new();
    let files = folder.store();
    let limits = question(&["pdf", "docx"], 10 * 1024 * 1024, 1);
    let refused = upload(&files, &limits, "report.pdf", &png(2000)).await.unwrap_err();
    assert_eq!(refused.to_string(), "The file must be a PDF or Word document (this one is a PNG image)");
    assert!(folder.contents().is_empty());

    // A large one is refused once its first bytes are in, without reading the rest.
    let given = Arc::new(AtomicUsize::new(0));
    let endless = Endless { first: png(1024), given: given.clone() };
    let refused = store_upload(&files, &limits, 0, "report.pdf", endless).await.unwrap_err();
    assert!(matches!(refused, UploadError::Refused(EvidenceError::TypeNotAllowed { .. })), "{refused:?}");
    assert_eq!(given.load(Ordering::SeqCst), 64, "64 KiB were read, not 10 MB");
    assert!(folder.contents().is_empty());

    let renamed = upload(&files, &question(&["pdf", "png"], 10_000, 1), "report.pdf", &png(2000)).await.unwrap_err();
    assert_eq!(renamed.to_string(), "The file name must end in .png, as the file is a PNG image");
    assert!(folder.contents().is_empty());
}

#[tokio::test]
async fn a_name_like_a_path_or_one_file_too_many_is_refused_before_anything_is_written() {
    let folder = TempFolder::new();
    let files = folder.store();
    let limits = question(&["pdf"], 1024 * 1024, 2);
    for name in ["../../etc/passwd.pdf", "reports/q1.pdf", "C:\\temp\\q1.pdf"] {
        let refused = upload(&files, &limits, name, &pdf()).await.unwrap_err();
        assert!(matches!(refused, UploadError::Refused(EvidenceError::NameHasSeparator)), "{name}: {refused:?}");
        assert_eq!(refused.to_string(), "The file name must not contain / or \\");
    }
    let given = Arc::new(AtomicUsize::new(0));
    let endless = Endless { first: pdf(), given: given.clone() };
    let refused = store_upload(&files, &limits, 2, "third.pdf", endless).await.unwrap_err();
    assert_eq!(refused.to_string(), "Upload at most 2 files for this question");
    assert_eq!(given.load(Ordering::SeqCst), 0, "nothing was read");
    assert!(!folder.0.exists(), "nothing was even created");
}

#[tokio::test]
async fn an_upload_that_fails_or_is_abandoned_part_way_leaves_nothing() {
    let folder = TempFolder::new();
    let files = folder.store();
    let limits = question(&["pdf"], 1024 * 1024, 1);
    let chunks = vec![b"%PDF-1.7\n".to_vec(), vec![b'x'; 70_000]];
    let failed = store_upload(&files, &limits, 0, "a.pdf", Stops { chunks: chunks.clone(), hang: false }).await;
    let failed = failed.unwrap_err();
    assert!(matches!(&failed, UploadError::Interrupted(reason) if reason == "connection reset"), "{failed:?}");
    assert!(folder.contents().is_empty());

    // The request is cancelled while the file is half written: dropping the upload removes it.
    let upload = store_upload(&files, &limits, 0, "a.pdf", Stops { chunks, hang: true });
    assert!(tokio::time::timeout(Duration::from_millis(200), upload).await.is_err(), "still waiting");
    assert!(folder.contents().is_empty(), "{:?}", folder.contents());
}

#[tokio::test]
async fn partial_files_left_by_a_crash_are_removed_at_start_up() {
    let folder = TempFolder::new();
    let files = folder.store();
    let after_now = std::time::SystemTime::now() + Duration::from_secs(60);
    assert_eq!(files.remove_partial_files(after_now).await.unwrap(), 0, "no folder yet");
    let kept = upload(&files, &question(&["csv"], 1000, 1), "a.csv", b"name,ods\nAcme,X26\n").await.unwrap();
    assert_eq!(kept.file_type, FileType::Csv);
    std::fs::write(folder.0.join(format!("{}.part", uuid::Uuid::new_v4().simple())), b"half").unwrap();
    let an_hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    assert_eq!(files.remove_partial_files(an_hour_ago).await.unwrap(), 0, "an upload may still be running");
    assert_eq!(files.remove_partial_files(after_now).await.unwrap(), 1);
    assert_eq!(folder.contents(), [kept.id.simple().to_string()]);
}

/// Axum needs handlers' futures to be `Send`; an upload is awaited inside one.
#[test]
fn an_upload_can_be_awaited_in_a_handler() {
    fn is_send<T: Send>(_: &T) {}
    let files: Arc<dyn FileStore> = Arc::new(FolderFileStore::new(std::env::temp_dir()));
    let limits = Limits::default();
    let upload = store_upload(files.as_ref(), &limits, 0, "a.pdf", ReadChunks(&b""[..]));
    is_send(&upload);
}
