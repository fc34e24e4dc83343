//! Evidence uploads (DOS-1, DOS-3): where evidence files are kept ([`FileStore`], [`FolderFileStore`]) and how
//! an upload is taken in ([`store_upload`]): streamed chunk by chunk, counted, hashed and checked by the rules
//! of [`onramp_domain::evidence`], so that a refused, failed or abandoned upload leaves nothing behind.
//!
//! A file is kept under a random id (a version 4 UUID), never under the name it was uploaded with; that name
//! is only recorded, to show back. The caller records the stored file with
//! `onramp_store::EvidenceFiles::record_evidence`, under the same id, and removes the file again
//! ([`FileStore::remove`]) if recording fails.
//!
//! The interface is asynchronous (`async_trait`, so it can be held as `Arc<dyn FileStore>`); [`FolderFileStore`]
//! is built on `tokio::fs`. An upload comes from any [`ChunkSource`]: the web layer wraps axum's multipart
//! `Field` in one (its `chunk()` is exactly [`ChunkSource::next_chunk`]), and [`ReadChunks`] adapts any
//! `tokio::io::AsyncRead`:
//!
//! ```ignore
//! struct FieldChunks<'a>(axum::extract::multipart::Field<'a>);
//!
//! impl ChunkSource for FieldChunks<'_> {
//!     type Chunk = bytes::Bytes;
//!     type Error = axum::extract::multipart::MultipartError;
//!     async fn next_chunk(&mut self) -> Result<Option<Self::Chunk>, Self::Error> {
//!         self.0.chunk().await
//!     }
//! }
//! ```

use std::fmt;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use onramp_domain::evidence::{
    ContentHash, EvidenceError, FileType, SNIFF_BYTES, check_before_upload, check_upload, max_bytes, sniff,
};
use onramp_domain::flow::file::Limits;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

/// Where evidence files are kept, each under its own id.
#[async_trait]
pub trait FileStore: Send + Sync + fmt::Debug {
    /// Starts a new file under a fresh random id. It cannot be opened until [`PendingFile::keep`]; dropped or
    /// discarded before that, it leaves nothing behind.
    async fn create(&self) -> io::Result<Box<dyn PendingFile>>;

    /// A kept file's content, to read from; `None` when there is no such file.
    async fn open(&self, id: Uuid) -> io::Result<Option<Box<dyn AsyncRead + Send + Unpin>>>;

    /// A kept file's whole content, for small files and tests; `None` when there is no such file.
    async fn read(&self, id: Uuid) -> io::Result<Option<Vec<u8>>> {
        let Some(mut reader) = self.open(id).await? else { return Ok(None) };
        let mut content = Vec::new();
        reader.read_to_end(&mut content).await?;
        Ok(Some(content))
    }

    /// Removes a kept file; `false` when there was none.
    async fn remove(&self, id: Uuid) -> io::Result<bool>;
}

/// A file being written, not yet kept.
#[async_trait]
pub trait PendingFile: Send + fmt::Debug {
    /// The id it will be kept under.
    fn id(&self) -> Uuid;

    async fn write(&mut self, chunk: &[u8]) -> io::Result<()>;

    /// Makes the file durable and visible under [`Self::id`]. On failure nothing is left behind.
    async fn keep(self: Box<Self>) -> io::Result<Uuid>;

    /// Removes what was written.
    async fn discard(self: Box<Self>);
}

/// Files in one folder: a kept file is `<root>/<id as 32 hex digits>`. A file being written is
/// `<root>/<id>.part` and is renamed when kept, so a kept file is always complete. `.part` files left by a
/// crash are removed by [`FolderFileStore::remove_partial_files`].
#[derive(Debug, Clone)]
pub struct FolderFileStore {
    root: PathBuf,
}

const PARTIAL_SUFFIX: &str = ".part";

impl FolderFileStore {
    /// The folder is created when the first file is.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, id: Uuid) -> PathBuf {
        self.root.join(id.simple().to_string())
    }

    /// Removes the `.part` files of uploads a crash interrupted, those last written before `cutoff`; call it at
    /// start-up with a cutoff well before any upload still running (another instance may share the folder).
    /// Returns how many there were.
    pub async fn remove_partial_files(&self, cutoff: std::time::SystemTime) -> io::Result<usize> {
        let mut entries = match tokio::fs::read_dir(&self.root).await {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(error) => return Err(error),
        };
        let mut removed = 0;
        while let Some(entry) = entries.next_entry().await? {
            if !entry.file_name().to_string_lossy().ends_with(PARTIAL_SUFFIX) {
                continue;
            }
            let written = entry.metadata().await?.modified()?;
            if written < cutoff {
                tokio::fs::remove_file(entry.path()).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[async_trait]
impl FileStore for FolderFileStore {
    async fn create(&self) -> io::Result<Box<dyn PendingFile>> {
        tokio::fs::create_dir_all(&self.root).await?;
        let id = Uuid::new_v4();
        let final_path = self.path_of(id);
        let partial_path = self.root.join(format!("{}{PARTIAL_SUFFIX}", id.simple()));
        let file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&partial_path).await?;
        Ok(Box::new(FolderPendingFile { id, file: Some(file), partial_path, final_path, finished: false }))
    }

    async fn open(&self, id: Uuid) -> io::Result<Option<Box<dyn AsyncRead + Send + Unpin>>> {
        match tokio::fs::File::open(self.path_of(id)).await {
            Ok(file) => Ok(Some(Box::new(file))),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }

    async fn remove(&self, id: Uuid) -> io::Result<bool> {
        match tokio::fs::remove_file(self.path_of(id)).await {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(error),
        }
    }
}

/// A `.part` file; removed when dropped unless it was kept.
#[derive(Debug)]
struct FolderPendingFile {
    id: Uuid,
    /// `None` once keeping or discarding began.
    file: Option<tokio::fs::File>,
    partial_path: PathBuf,
    final_path: PathBuf,
    /// Renamed to `final_path`, or already removed: nothing to clean up.
    finished: bool,
}

#[async_trait]
impl PendingFile for FolderPendingFile {
    fn id(&self) -> Uuid {
        self.id
    }

    async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        let file = self.file.as_mut().ok_or_else(|| io::Error::other("the file is already finished"))?;
        file.write_all(chunk).await
    }

    async fn keep(mut self: Box<Self>) -> io::Result<Uuid> {
        // On any error `self` is dropped, which removes the `.part` file.
        let mut file = self.file.take().ok_or_else(|| io::Error::other("the file is already finished"))?;
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        tokio::fs::rename(&self.partial_path, &self.final_path).await?;
        self.finished = true;
        // Makes the rename itself durable where a folder can be synced (not on every platform).
        if let Some(folder) = self.final_path.parent()
            && let Ok(folder) = tokio::fs::File::open(folder).await
        {
            let _ = folder.sync_all().await;
        }
        Ok(self.id)
    }

    async fn discard(mut self: Box<Self>) {
        drop(self.file.take());
        if tokio::fs::remove_file(&self.partial_path).await.is_ok() {
            self.finished = true;
        }
    }
}

impl Drop for FolderPendingFile {
    fn drop(&mut self) {
        if !self.finished {
            // Abandoned part-way (the request was cancelled, or keeping failed): nothing must remain.
            drop(self.file.take());
            let _ = std::fs::remove_file(&self.partial_path);
        }
    }
}

/// Where an upload's bytes come from, chunk by chunk; `Ok(None)` at the end.
pub trait ChunkSource: Send {
    type Chunk: AsRef<[u8]> + Send;
    type Error: fmt::Display + Send;

    fn next_chunk(&mut self) -> impl Future<Output = Result<Option<Self::Chunk>, Self::Error>> + Send;
}

/// A [`ChunkSource`] reading any `AsyncRead` 64 KiB at a time.
#[derive(Debug)]
pub struct ReadChunks<R>(pub R);

impl<R: AsyncRead + Unpin + Send> ChunkSource for ReadChunks<R> {
    type Chunk = Vec<u8>;
    type Error = io::Error;

    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, io::Error> {
        let mut chunk = vec![0; 64 * 1024];
        let read = self.0.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        chunk.truncate(read);
        Ok(Some(chunk))
    }
}

/// A kept evidence file, for the caller to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUpload {
    /// Its id in the file store; record it under the same id.
    pub id: Uuid,
    /// The name it was uploaded with, trimmed (to show back only).
    pub file_name: String,
    pub file_type: FileType,
    pub size: u64,
    /// Lower-case hexadecimal SHA-256 of the content.
    pub sha256: String,
}

/// Why an upload was not kept. Nothing of it remains in the file store.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The file breaks a rule of the question: show the message beside it.
    #[error(transparent)]
    Refused(#[from] EvidenceError),
    /// The upload stopped before its end (the browser went away, the request was malformed).
    #[error("the upload stopped before its end: {0}")]
    Interrupted(String),
    /// The file store failed.
    #[error("storing the file failed")]
    Storage(#[source] io::Error),
}

/// Takes in a file answering a question with `limits`, for which `already` files are stored: checks the count
/// and the name first, then streams `source` into `files`, stopping as soon as it is larger than the question
/// allows, and checks the content's type as soon as its first [`SNIFF_BYTES`] bytes (or all of it, when
/// shorter) are in. Returns the kept file; on any refusal or failure nothing is left in `files`.
pub async fn store_upload<S: ChunkSource>(
    files: &dyn FileStore,
    limits: &Limits,
    already: u32,
    file_name: &str,
    mut source: S,
) -> Result<StoredUpload, UploadError> {
    let shown_name = check_before_upload(limits, already, file_name)?;
    let max = max_bytes(limits);
    let mut pending = files.create().await.map_err(UploadError::Storage)?;
    let mut head: Vec<u8> = Vec::new();
    let mut hash = ContentHash::new();
    let mut size: u64 = 0;
    let failure = loop {
        let chunk = match source.next_chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break None,
            Err(error) => break Some(UploadError::Interrupted(error.to_string())),
        };
        let bytes = chunk.as_ref();
        size = size.saturating_add(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
        if size > max {
            break Some(EvidenceError::TooLarge { max }.into());
        }
        let had = head.len();
        if had < SNIFF_BYTES {
            head.extend_from_slice(bytes.get(..SNIFF_BYTES - had).unwrap_or(bytes));
            // The type is known once the head is full: a wrong one is refused without reading the rest.
            if head.len() == SNIFF_BYTES
                && let Err(refused) = check_upload(limits, already, file_name, size, sniff(&head, file_name))
            {
                break Some(refused.into());
            }
        }
        hash.update(bytes);
        if let Err(error) = pending.write(bytes).await {
            break Some(UploadError::Storage(error));
        }
    };
    if let Some(failure) = failure {
        pending.discard().await;
        return Err(failure);
    }
    let file_type = match check_upload(limits, already, file_name, size, sniff(&head, file_name)) {
        Ok(file_type) => file_type,
        Err(refused) => {
            pending.discard().await;
            return Err(refused.into());
        }
    };
    let id = pending.keep().await.map_err(UploadError::Storage)?;
    Ok(StoredUpload { id, file_name: shown_name, file_type, size, sha256: hash.finish() })
}
