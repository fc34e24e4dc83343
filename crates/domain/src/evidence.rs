//! Evidence files (DOS-1, DOS-3): the rules a file must meet to answer an `evidence` question. No I/O: the
//! service streams the upload, gives [`sniff`] its first bytes and [`check_upload`] what it found.
//!
//! A file's type is decided by its content (its magic bytes), never by its name alone; the name's extension
//! must then agree with the content (a PNG image named `report.pdf` is refused). The rules, in the order
//! [`check_upload`] applies them:
//!
//! 1. at most `max_files` files per question ([`DEFAULT_MAX_FILES`] when the question gives none);
//! 2. the name passes [`check_file_name`];
//! 3. the file is not empty and at most `max_bytes` long ([`DEFAULT_MAX_BYTES`] when the question gives none);
//! 4. its content is one of the question's `allowed_types` (every [`FileType`] when the list is empty; names
//!    Onramp does not know are ignored, `jpeg` counts as `jpg`);
//! 5. its name ends in one of that type's extensions ([`FileType::extensions`]), in any case.
//!
//! The name is only ever shown back; files are stored under an id of their own, never under their name.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::flow::file::Limits;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// How many files a question takes when it does not say (`max_files`).
pub const DEFAULT_MAX_FILES: u32 = 1;
/// How large a file may be when its question does not say (`max_bytes`): 10 MB.
pub const DEFAULT_MAX_BYTES: u64 = 10 * MIB;
/// The largest `max_bytes` a flow may give a question: 100 MB, so one upload stays within what the portal
/// takes in a request.
pub const LARGEST_FILE: u64 = 100 * MIB;
/// The most files a flow may let one question take (`max_files`).
pub const MOST_FILES: u32 = 20;
/// The longest file name kept, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// How many bytes from the start of a file [`sniff`] should be given (fewer when the file is shorter). Office
/// files need the most: their first zip entries' names are read from these bytes.
pub const SNIFF_BYTES: usize = 64 * 1024;
/// An SVG file's root `<svg` element must start within this many bytes.
const SVG_WINDOW: usize = 1024;

/// The types of file evidence may be, as `allowed_types` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    Pdf,
    Docx,
    Xlsx,
    Pptx,
    Png,
    Jpg,
    Svg,
    Mp4,
    Csv,
}

impl FileType {
    pub const ALL: [Self; 9] =
        [Self::Pdf, Self::Docx, Self::Xlsx, Self::Pptx, Self::Png, Self::Jpg, Self::Svg, Self::Mp4, Self::Csv];

    /// The name `allowed_types` and the database use: "pdf", "docx", …
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Docx => "docx",
            Self::Xlsx => "xlsx",
            Self::Pptx => "pptx",
            Self::Png => "png",
            Self::Jpg => "jpg",
            Self::Svg => "svg",
            Self::Mp4 => "mp4",
            Self::Csv => "csv",
        }
    }

    /// The type from its name in `allowed_types` (any case; `jpeg` is `jpg`), if Onramp knows it.
    pub fn parse(name: &str) -> Option<Self> {
        let name = name.trim().to_ascii_lowercase();
        if name == "jpeg" {
            return Some(Self::Jpg);
        }
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// The media type to serve the file with. An SVG file can carry scripts: serve evidence as an attachment.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Pptx => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            Self::Png => "image/png",
            Self::Jpg => "image/jpeg",
            Self::Svg => "image/svg+xml",
            Self::Mp4 => "video/mp4",
            Self::Csv => "text/csv",
        }
    }

    /// What people call it: "PDF", "Word document", …
    pub fn label(self) -> &'static str {
        match self {
            Self::Pdf => "PDF",
            Self::Docx => "Word document",
            Self::Xlsx => "Excel spreadsheet",
            Self::Pptx => "PowerPoint presentation",
            Self::Png => "PNG image",
            Self::Jpg => "JPEG image",
            Self::Svg => "SVG image",
            Self::Mp4 => "MP4 video",
            Self::Csv => "CSV file",
        }
    }

    /// The label with its article: "a PDF", "an Excel spreadsheet".
    fn with_article(self) -> String {
        format!("{} {}", article(self.label()), self.label())
    }

    /// The extensions a file of this type may have, lower case, the usual one first.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Self::Jpg => &["jpg", "jpeg"],
            Self::Pdf => &["pdf"],
            Self::Docx => &["docx"],
            Self::Xlsx => &["xlsx"],
            Self::Pptx => &["pptx"],
            Self::Png => &["png"],
            Self::Svg => &["svg"],
            Self::Mp4 => &["mp4"],
            Self::Csv => &["csv"],
        }
    }
}

impl fmt::Display for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// "an" before a label read with a vowel sound ("an Excel spreadsheet", "an MP4 video", "an SVG image").
fn article(label: &str) -> &'static str {
    let vowel_sound =
        label.starts_with(['A', 'E', 'I', 'O', 'U']) || label.starts_with("MP4") || label.starts_with("SVG");
    if vowel_sound { "an" } else { "a" }
}

/// Why a file cannot answer the question. The messages are shown to the supplier as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("The file must have a name")]
    NameMissing,
    #[error("The file name must not contain / or \\")]
    NameHasSeparator,
    #[error("The file name must not contain ..")]
    NameHasDotDot,
    #[error("The file name must not contain control characters")]
    NameHasControl,
    #[error("The file name must not contain characters that change the direction of the text")]
    NameHasDirectionControl,
    #[error("The file name must be {MAX_NAME_CHARS} characters or fewer")]
    NameTooLong,
    #[error("Upload at most {max} {} for this question", if *.max == 1 { "file" } else { "files" })]
    TooManyFiles { max: u32 },
    #[error("The file must not be empty")]
    Empty,
    #[error("The file must be {} or smaller", human_size(*.max))]
    TooLarge { max: u64 },
    #[error("{}", type_not_allowed(.allowed, *.found))]
    TypeNotAllowed { allowed: Vec<FileType>, found: Option<FileType> },
    #[error("The file name must end in {}, as the file is {}", dotted(.found.extensions()), .found.with_article())]
    ExtensionMismatch { found: FileType },
}

impl EvidenceError {
    /// A stable code for logs and the JSON API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NameMissing => "name_missing",
            Self::NameHasSeparator => "name_has_separator",
            Self::NameHasDotDot => "name_has_dot_dot",
            Self::NameHasControl => "name_has_control",
            Self::NameHasDirectionControl => "name_has_direction_control",
            Self::NameTooLong => "name_too_long",
            Self::TooManyFiles { .. } => "too_many_files",
            Self::Empty => "empty",
            Self::TooLarge { .. } => "too_large",
            Self::TypeNotAllowed { .. } => "type_not_allowed",
            Self::ExtensionMismatch { .. } => "extension_mismatch",
        }
    }
}

/// "10 MB", "2.5 MB", "500 KB", "300 bytes" (1 MB being 1,048,576 bytes, as `max_bytes` values are written).
pub fn human_size(bytes: u64) -> String {
    let (unit, name) = if bytes >= MIB {
        (MIB, "MB")
    } else if bytes >= KIB {
        (KIB, "KB")
    } else {
        return format!("{bytes} {}", if bytes == 1 { "byte" } else { "bytes" });
    };
    let whole = bytes / unit;
    let tenths = (bytes % unit) * 10 / unit;
    if tenths == 0 { format!("{whole} {name}") } else { format!("{whole}.{tenths} {name}") }
}

fn type_not_allowed(allowed: &[FileType], found: Option<FileType>) -> String {
    let found = found.map_or_else(|| "not a type Onramp recognises".to_owned(), FileType::with_article);
    let Some((first, rest)) = allowed.split_first() else {
        return format!("This question does not take any type of file Onramp can check (this one is {found})");
    };
    let mut list = first.with_article();
    for (position, kind) in rest.iter().enumerate() {
        list.push_str(if position + 1 == rest.len() { " or " } else { ", " });
        list.push_str(kind.label());
    }
    format!("The file must be {list} (this one is {found})")
}

/// ".pdf", ".jpg or .jpeg".
fn dotted(extensions: &[&str]) -> String {
    extensions.iter().map(|extension| format!(".{extension}")).collect::<Vec<_>>().join(" or ")
}

/// The types a question takes: its `allowed_types` that Onramp knows, in order, or every type when it names
/// none.
pub fn allowed_types(limits: &Limits) -> Vec<FileType> {
    if limits.allowed_types.is_empty() {
        return FileType::ALL.to_vec();
    }
    let mut allowed = Vec::new();
    for kind in limits.allowed_types.iter().filter_map(|name| FileType::parse(name)) {
        if !allowed.contains(&kind) {
            allowed.push(kind);
        }
    }
    allowed
}

/// The most files a question takes.
pub fn max_files(limits: &Limits) -> u32 {
    limits.max_files.unwrap_or(DEFAULT_MAX_FILES)
}

/// The largest file a question takes, in bytes.
pub fn max_bytes(limits: &Limits) -> u64 {
    limits.max_bytes.unwrap_or(DEFAULT_MAX_BYTES)
}

/// The name's extension, lower case: what follows its last dot ("" when it has none).
fn extension(file_name: &str) -> String {
    file_name.trim().rsplit_once('.').map(|(_, extension)| extension.to_ascii_lowercase()).unwrap_or_default()
}

/// Characters that reorder how the text around them is shown, so `report\u{202e}fdp.exe` reads as a PDF.
fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Checks the name a file was uploaded with and returns it trimmed, to show back (it is never used as a path).
/// Refused: an empty name, `/` or `\`, `..`, control characters, characters that change the direction of the
/// text, and more than [`MAX_NAME_CHARS`] characters.
pub fn check_file_name(name: &str) -> Result<String, EvidenceError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(EvidenceError::NameMissing);
    }
    if name.contains(['/', '\\']) {
        return Err(EvidenceError::NameHasSeparator);
    }
    if name.contains("..") {
        return Err(EvidenceError::NameHasDotDot);
    }
    if name.chars().any(char::is_control) {
        return Err(EvidenceError::NameHasControl);
    }
    if name.chars().any(is_direction_control) {
        return Err(EvidenceError::NameHasDirectionControl);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(EvidenceError::NameTooLong);
    }
    Ok(name.to_owned())
}

/// What can be checked before any byte is read: the question has room for another file (`already` are
/// stored for it) and the name is acceptable. Returns the trimmed name.
pub fn check_before_upload(limits: &Limits, already: u32, file_name: &str) -> Result<String, EvidenceError> {
    let max = max_files(limits);
    if already >= max {
        return Err(EvidenceError::TooManyFiles { max });
    }
    check_file_name(file_name)
}

/// Checks a whole upload: `already` files are stored for the question, this one is `size` bytes and its
/// content is `sniffed` ([`sniff`] of its first bytes). Returns the file's type. See the module's rules.
pub fn check_upload(
    limits: &Limits,
    already: u32,
    file_name: &str,
    size: u64,
    sniffed: Option<FileType>,
) -> Result<FileType, EvidenceError> {
    check_before_upload(limits, already, file_name)?;
    if size == 0 {
        return Err(EvidenceError::Empty);
    }
    let max = max_bytes(limits);
    if size > max {
        return Err(EvidenceError::TooLarge { max });
    }
    let allowed = allowed_types(limits);
    let found = match sniffed {
        Some(found) if allowed.contains(&found) => found,
        found => return Err(EvidenceError::TypeNotAllowed { allowed, found }),
    };
    if !found.extensions().contains(&extension(file_name).as_str()) {
        return Err(EvidenceError::ExtensionMismatch { found });
    }
    Ok(found)
}

/// The type of a file by its content: `bytes_prefix` is its first bytes ([`SNIFF_BYTES`] of them, or the whole
/// file when shorter). `None` when it is none of the [`FileType`]s. What is checked:
///
/// - PDF: starts with `%PDF-`;
/// - PNG: starts with `89 50 4E 47 0D 0A 1A 0A`;
/// - JPEG: starts with `FF D8 FF`;
/// - Word, Excel, PowerPoint: a zip file (`PK\x03\x04`) whose local entries seen in the prefix include a
///   `word/`, `xl/` or `ppt/` entry (that names the type, whatever the file is called); failing that, an Office
///   Open XML package (an entry `[Content_Types].xml`, `_rels/…` or `docProps/…`) is the type its name's
///   extension says, if that is `.docx`, `.xlsx` or `.pptx`. Any other zip file is `None`;
/// - MP4: an `ftyp` box at offset 4 whose major or a compatible brand is an MP4 one (`isom`, `iso2`…, `mp41`,
///   `mp42`, `avc1`, `M4V `, `dash`, …), not QuickTime (`qt  `) nor a HEIF/AVIF image;
/// - SVG: UTF-8 text whose root element, after an optional byte order mark, white space, an XML declaration,
///   processing instructions, comments and a `<!DOCTYPE svg …>`, is `<svg`, starting in the first 1 KiB;
/// - CSV: any other UTF-8 text (the prefix may end part-way through a character) without a NUL byte.
pub fn sniff(bytes_prefix: &[u8], file_name: &str) -> Option<FileType> {
    let prefix = bytes_prefix;
    if prefix.starts_with(b"%PDF-") {
        Some(FileType::Pdf)
    } else if prefix.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(FileType::Png)
    } else if prefix.starts_with(b"\xFF\xD8\xFF") {
        Some(FileType::Jpg)
    } else if prefix.starts_with(b"PK\x03\x04") {
        office_type(prefix, &extension(file_name))
    } else if is_mp4(prefix) {
        Some(FileType::Mp4)
    } else {
        let text = utf8_prefix(prefix)?;
        if is_svg(text) {
            Some(FileType::Svg)
        } else if !text.is_empty() && !text.contains('\0') {
            Some(FileType::Csv)
        } else {
            None
        }
    }
}

/// The names of the zip entries whose local headers start in `prefix`.
fn zip_entry_names(prefix: &[u8]) -> Vec<&[u8]> {
    const SIGNATURE: &[u8] = b"PK\x03\x04";
    let mut names = Vec::new();
    let mut from = 0;
    while let Some(found) = prefix.get(from..).and_then(|rest| rest.windows(4).position(|w| w == SIGNATURE)) {
        let start = from + found;
        let length = prefix.get(start + 26..start + 28).map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])));
        if let Some(name) = length.and_then(|length| prefix.get(start + 30..start + 30 + length)) {
            names.push(name);
        }
        from = start + SIGNATURE.len();
    }
    names
}

fn office_type(prefix: &[u8], extension: &str) -> Option<FileType> {
    let names = zip_entry_names(prefix);
    let named = match extension {
        "docx" => Some(FileType::Docx),
        "xlsx" => Some(FileType::Xlsx),
        "pptx" => Some(FileType::Pptx),
        _ => None,
    };
    let by_folder: Vec<FileType> = names
        .iter()
        .filter_map(|name| {
            if name.starts_with(b"word/") {
                Some(FileType::Docx)
            } else if name.starts_with(b"xl/") {
                Some(FileType::Xlsx)
            } else if name.starts_with(b"ppt/") {
                Some(FileType::Pptx)
            } else {
                None
            }
        })
        .collect();
    if let Some(named) = named
        && by_folder.contains(&named)
    {
        return Some(named);
    }
    if let Some(first) = by_folder.first() {
        return Some(*first);
    }
    let package = names
        .iter()
        .any(|name| *name == b"[Content_Types].xml" || name.starts_with(b"_rels/") || name.starts_with(b"docProps/"));
    if package { named } else { None }
}

fn is_mp4(prefix: &[u8]) -> bool {
    if prefix.get(4..8) != Some(b"ftyp".as_slice()) {
        return false;
    }
    let Some(size) = prefix.get(0..4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])) else {
        return false;
    };
    let Some(major) = prefix.get(8..12) else {
        return false;
    };
    const NOT_VIDEO: [&[u8]; 11] =
        [b"qt  ", b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"];
    if NOT_VIDEO.contains(&major) {
        return false;
    }
    let end = usize::try_from(size).unwrap_or(usize::MAX).min(prefix.len());
    let compatible = prefix.get(16..end).unwrap_or_default().chunks_exact(4);
    std::iter::once(major).chain(compatible).any(is_mp4_brand)
}

fn is_mp4_brand(brand: &[u8]) -> bool {
    const BRANDS: [&[u8]; 11] =
        [b"isom", b"mp41", b"mp42", b"mp71", b"avc1", b"M4V ", b"M4VH", b"M4VP", b"dash", b"mmp4", b"MSNV"];
    BRANDS.contains(&brand) || matches!(brand, [b'i', b's', b'o', digit] if digit.is_ascii_digit())
}

/// The prefix as text, when it is UTF-8 but perhaps for a character cut off at its end.
fn utf8_prefix(prefix: &[u8]) -> Option<&str> {
    match std::str::from_utf8(prefix) {
        Ok(text) => Some(text),
        Err(error) if error.error_len().is_none() => {
            prefix.get(..error.valid_up_to()).and_then(|valid| std::str::from_utf8(valid).ok())
        }
        Err(_) => None,
    }
}

fn is_svg(text: &str) -> bool {
    let mut rest = text.strip_prefix('\u{feff}').unwrap_or(text);
    loop {
        rest = rest.trim_start();
        if text.len() - rest.len() > SVG_WINDOW {
            return false;
        }
        let skipped = if let Some(after) = rest.strip_prefix("<?") {
            after.split_once("?>").map(|(_, after)| after)
        } else if let Some(after) = rest.strip_prefix("<!--") {
            after.split_once("-->").map(|(_, after)| after)
        } else if let Some(after) = rest.strip_prefix("<!DOCTYPE svg") {
            // An internal subset (`[ <!ENTITY …> ]`) may hold `>`s of its own.
            match (after.find('['), after.find('>')) {
                (Some(open), Some(close)) if open < close => after.split_once("]>").map(|(_, after)| after),
                (_, Some(close)) => after.get(close + 1..),
                (_, None) => None,
            }
        } else {
            break;
        };
        let Some(after) = skipped else {
            return false;
        };
        rest = after;
    }
    rest.strip_prefix("<svg")
        .is_some_and(|after| after.starts_with(|c: char| c.is_whitespace() || c == '>' || c == '/'))
}

/// The SHA-256 of a file, fed as it streams in; [`ContentHash::finish`] gives it in lower-case hexadecimal.
#[derive(Clone, Default)]
pub struct ContentHash(Sha256);

impl ContentHash {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(self) -> String {
        crate::terms::lower_hex(&self.0.finalize())
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ContentHash")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn limits(types: &[&str], max_bytes: Option<u64>, max_files: Option<u32>) -> Limits {
        Limits {
            allowed_types: types.iter().map(|t| (*t).to_owned()).collect(),
            max_bytes,
            max_files,
            ..Limits::default()
        }
    }

    /// A zip local file header for an entry called `name`, with `data` stored after it.
    fn zip_entry(name: &str, data: &[u8]) -> Vec<u8> {
        let mut entry = b"PK\x03\x04".to_vec();
        entry.extend_from_slice(&[20, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // version, flags, method, time, date, crc
        let size = u32::try_from(data.len()).unwrap().to_le_bytes();
        entry.extend_from_slice(&size);
        entry.extend_from_slice(&size);
        entry.extend_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
        entry.extend_from_slice(&[0, 0]);
        entry.extend_from_slice(name.as_bytes());
        entry.extend_from_slice(data);
        entry
    }

    fn office(folder: &str) -> Vec<u8> {
        let mut file = zip_entry("[Content_Types].xml", b"\x8d\x92\xcbN\xc30\x10E\xf7|");
        file.extend(zip_entry("_rels/.rels", b"\x01\x02\x03"));
        file.extend(zip_entry(&format!("{folder}/document.xml"), b"\x04\x05"));
        file
    }

    #[test]
    fn the_magic_bytes_decide_the_type() {
        assert_eq!(sniff(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", "a.pdf"), Some(FileType::Pdf));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "a.png"), Some(FileType::Png));
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0\0\x10JFIF", "a.jpg"), Some(FileType::Jpg));
        assert_eq!(sniff(b"\0\0\0\x18ftypmp42\0\0\0\0isommp42", "a.mp4"), Some(FileType::Mp4));
        assert_eq!(sniff(b"\0\0\0\x14ftypqt  \0\0\0\0qt  ", "a.mp4"), None, "QuickTime is not MP4");
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", "a.mp4"), None, "a HEIF photo is not MP4");
        assert_eq!(sniff(b"name,ods\nAcme,X26\n", "a.csv"), Some(FileType::Csv));
        assert_eq!(sniff("nom,ville\nCafé,Lyon".as_bytes(), "a.csv"), Some(FileType::Csv));
        assert_eq!(sniff(b"name\0,ods", "a.csv"), None, "a NUL byte is not text");
        assert_eq!(sniff(b"\xff\xfe\0n\0a", "a.csv"), None, "not UTF-8");
        assert_eq!(sniff(b"", "a.csv"), None);
        assert_eq!(sniff(b"MZ\x90\0", "a.pdf"), None);
        // The prefix may stop part-way through a character.
        let cut = "a,é".as_bytes();
        assert_eq!(sniff(&cut[..cut.len() - 1], "a.csv"), Some(FileType::Csv));
    }

    #[test]
    fn an_office_file_is_told_apart_by_its_entries_and_then_by_its_name() {
        assert_eq!(sniff(&office("word"), "plan.docx"), Some(FileType::Docx));
        assert_eq!(sniff(&office("xl"), "plan.xlsx"), Some(FileType::Xlsx));
        assert_eq!(sniff(&office("ppt"), "plan.pptx"), Some(FileType::Pptx));
        assert_eq!(sniff(&office("xl"), "plan.docx"), Some(FileType::Xlsx), "the entries win over the name");
        assert_eq!(sniff(&office("word"), "plan.zip"), Some(FileType::Docx));
        // Only the package's first entry fits in the prefix: the name's extension decides.
        let first = zip_entry("[Content_Types].xml", b"\x01\x02");
        assert_eq!(sniff(&first, "plan.PPTX"), Some(FileType::Pptx));
        assert_eq!(sniff(&first, "plan.zip"), None);
        let plain_zip = zip_entry("notes.txt", b"hello");
        assert_eq!(sniff(&plain_zip, "plan.docx"), None, "a zip that is not an Office package");
        assert_eq!(sniff(b"PK\x03\x04", "plan.docx"), None);
    }

    #[test]
    fn svg_is_text_whose_root_element_is_svg() {
        let plain = r#"<svg xmlns="http://www.w3.org/2000/svg" width="10"/>"#;
        assert_eq!(sniff(plain.as_bytes(), "logo.svg"), Some(FileType::Svg));
        let exported = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- Generator: Adobe Illustrator -->\n\
            <!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\" [\n\
            <!ENTITY ns_svg \"http://www.w3.org/2000/svg\">\n]>\n<svg version=\"1.1\">";
        assert_eq!(sniff(exported.as_bytes(), "logo.svg"), Some(FileType::Svg));
        assert_eq!(sniff(b"<svg>", "logo.svg"), Some(FileType::Svg));
        assert_eq!(sniff(b"<svgx>", "logo.svg"), Some(FileType::Csv), "another element is mere text");
        assert_eq!(sniff(b"<html><svg></svg></html>", "logo.svg"), Some(FileType::Csv));
        let late = format!("<!-- {} --><svg>", "x".repeat(SVG_WINDOW));
        assert_eq!(sniff(late.as_bytes(), "logo.svg"), Some(FileType::Csv), "the root must start in the first 1 KiB");
        assert_eq!(sniff(b"<?xml version='1.0'", "logo.svg"), Some(FileType::Csv), "an unfinished declaration");
    }

    #[test]
    fn a_file_name_is_trimmed_and_must_not_look_like_a_path() {
        assert_eq!(check_file_name("  Penetration test 2026.pdf "), Ok("Penetration test 2026.pdf".into()));
        assert_eq!(check_file_name("Résumé (final).docx"), Ok("Résumé (final).docx".into()));
        assert_eq!(check_file_name("   "), Err(EvidenceError::NameMissing));
        assert_eq!(check_file_name("../../etc/passwd"), Err(EvidenceError::NameHasSeparator));
        assert_eq!(check_file_name("C:\\report.pdf"), Err(EvidenceError::NameHasSeparator));
        assert_eq!(check_file_name("..pdf"), Err(EvidenceError::NameHasDotDot));
        assert_eq!(check_file_name("a\0.pdf"), Err(EvidenceError::NameHasControl));
        assert_eq!(check_file_name("a\n.pdf"), Err(EvidenceError::NameHasControl));
        assert_eq!(check_file_name("report\u{202e}fdp.exe"), Err(EvidenceError::NameHasDirectionControl));
        let long = format!("{}.pdf", "é".repeat(MAX_NAME_CHARS - 4));
        assert_eq!(check_file_name(&long), Ok(long.clone()), "200 characters, more bytes");
        assert_eq!(check_file_name(&format!("x{long}")), Err(EvidenceError::NameTooLong));
        assert_eq!(EvidenceError::NameHasSeparator.to_string(), "The file name must not contain / or \\");
    }

    #[test]
    fn an_upload_meets_the_questions_limits_in_order() {
        let question = limits(&["pdf", "docx"], Some(10 * MIB), Some(3));
        let pdf = Some(FileType::Pdf);
        assert_eq!(check_upload(&question, 2, "a.pdf", 10 * MIB, pdf), Ok(FileType::Pdf));
        let full = check_upload(&question, 3, "a.pdf", 1, pdf).unwrap_err();
        assert_eq!(full.to_string(), "Upload at most 3 files for this question");
        assert_eq!(check_upload(&question, 0, "a/b.pdf", 1, pdf), Err(EvidenceError::NameHasSeparator));
        assert_eq!(check_upload(&question, 0, "a.pdf", 0, pdf), Err(EvidenceError::Empty));
        let large = check_upload(&question, 0, "a.pdf", 10 * MIB + 1, pdf).unwrap_err();
        assert_eq!(large.to_string(), "The file must be 10 MB or smaller");
        let png = check_upload(&question, 0, "report.pdf", 10, Some(FileType::Png)).unwrap_err();
        assert_eq!(png.to_string(), "The file must be a PDF or Word document (this one is a PNG image)");
        assert_eq!(png.code(), "type_not_allowed");
        let unknown = check_upload(&question, 0, "report.pdf", 10, None).unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "The file must be a PDF or Word document (this one is not a type Onramp recognises)"
        );
        let renamed = check_upload(&question, 0, "report.docx", 10, pdf).unwrap_err();
        assert_eq!(renamed.to_string(), "The file name must end in .pdf, as the file is a PDF");
        assert_eq!(check_upload(&question, 0, "REPORT.PDF", 10, pdf), Ok(FileType::Pdf));
        assert_eq!(
            check_upload(&question, 0, "report", 10, pdf),
            Err(EvidenceError::ExtensionMismatch { found: FileType::Pdf })
        );
    }

    #[test]
    fn the_defaults_and_the_messages_read_well() {
        let open = Limits::default();
        assert_eq!(check_upload(&open, 0, "photo.jpeg", 5, Some(FileType::Jpg)), Ok(FileType::Jpg));
        let second = check_upload(&open, 1, "photo.jpeg", 5, Some(FileType::Jpg)).unwrap_err();
        assert_eq!(second.to_string(), "Upload at most 1 file for this question");
        assert_eq!(max_bytes(&open), DEFAULT_MAX_BYTES);
        let three = limits(&["xlsx", "mp4", "jpeg", "doc", "jpg"], Some(2_621_440), None);
        assert_eq!(allowed_types(&three), [FileType::Xlsx, FileType::Mp4, FileType::Jpg]);
        let refused = check_upload(&three, 0, "a.svg", 9, Some(FileType::Svg)).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "The file must be an Excel spreadsheet, MP4 video or JPEG image (this one is an SVG image)"
        );
        let large = check_upload(&three, 0, "a.xlsx", 2_621_441, Some(FileType::Xlsx)).unwrap_err();
        assert_eq!(large.to_string(), "The file must be 2.5 MB or smaller");
        let jpg = check_upload(&three, 0, "a.png", 9, Some(FileType::Jpg)).unwrap_err();
        assert_eq!(jpg.to_string(), "The file name must end in .jpg or .jpeg, as the file is a JPEG image");
        let nothing = check_upload(&limits(&["doc"], None, None), 0, "a.pdf", 9, Some(FileType::Pdf)).unwrap_err();
        assert!(nothing.to_string().starts_with("This question does not take any type of file"), "{nothing}");
        assert_eq!(
            (human_size(512), human_size(1), human_size(500 * KIB)),
            ("512 bytes".into(), "1 byte".into(), "500 KB".into())
        );
        for kind in FileType::ALL {
            assert_eq!(FileType::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{kind}\""));
        }
        assert_eq!(
            FileType::Docx.media_type(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        );
    }

    #[test]
    fn the_content_hash_is_sha256_in_hex() {
        let mut hash = ContentHash::new();
        hash.update(b"a");
        hash.update(b"bc");
        assert_eq!(hash.finish(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    proptest! {
        /// Random bytes and names never panic the checks.
        #[test]
        fn any_bytes_and_name_are_sniffed_and_checked_without_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
            name in "\\PC{0,40}",
            already in 0u32..5,
            size in any::<u64>(),
        ) {
            let sniffed = sniff(&bytes, &name);
            let question = limits(&["pdf", "docx", "xlsx", "pptx", "csv", "svg", "mp4"], Some(1000), Some(3));
            let _ = check_upload(&question, already, &name, size, sniffed);
            if let Ok(shown) = check_file_name(&name) {
                prop_assert!(!shown.contains(['/', '\\']) && !shown.contains("..") && shown.chars().count() <= MAX_NAME_CHARS);
            }
        }

        /// Magic bytes followed by anything: the prefixes that look like something are sniffed without panic.
        #[test]
        fn near_misses_are_sniffed_without_panic(
            magic in prop_oneof![Just(b"PK\x03\x04".to_vec()), Just(b"\0\0\0\x20ftyp".to_vec()), Just(b"<?xml ".to_vec()), Just(b"<!DOCTYPE svg [".to_vec())],
            tail in proptest::collection::vec(any::<u8>(), 0..200),
            name in "[a-z]{0,5}\\.(docx|xlsx|pptx|zip)",
        ) {
            let mut bytes = magic;
            bytes.extend(tail);
            let _ = sniff(&bytes, &name);
        }
    }
}
