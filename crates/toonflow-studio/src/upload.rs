//! Uploads: streamed from the request to the job's folder, chunk by chunk (never held whole in
//! memory), counted against the size limit, and named by the studio from what their bytes are.
//! The client's file names are kept for display only.

use crate::engine::{Engine, JobKind, Upload};
use crate::options::JobOptions;
use axum::extract::multipart::{Field, Multipart};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// The stored name of a video upload.
pub const VIDEO_NAME: &str = "video";
/// The stored name of a subtitle upload.
pub const SUBTITLES_NAME: &str = "subtitles.srt";
/// At most this many files in one job.
pub const MAX_FILES: usize = 1000;

/// The client's name of an upload stored as `stored` (its file name in `in/`, or that name's
/// stem): `007.jpg` is the seventh upload, `video` the one video. The one place that reads the
/// names [`receive`] gives.
pub fn client_name<'a>(stored: &str, names: &'a [String]) -> Option<&'a str> {
    let stem = stored.split('.').next().unwrap_or(stored);
    if stem == VIDEO_NAME {
        return names.first().map(String::as_str);
    }
    let k = stem.parse::<usize>().ok()?;
    names.get(k.checked_sub(1)?).map(String::as_str)
}

/// Why an upload was refused; each maps to an HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// Over `--max-upload`.
    #[error("the upload is larger than this studio's limit of {limit} (toonflow serve --max-upload)")]
    TooLarge {
        /// The limit, for a person.
        limit: String,
    },
    /// Not an image, not a video, or a mix that makes no job.
    #[error("{0}")]
    Unsupported(String),
    /// The request itself (not multipart, broken off, an unknown field).
    #[error("{0}")]
    BadRequest(String),
    /// Writing to disk.
    #[error("cannot store the upload: {0}")]
    Io(#[from] std::io::Error),
}

/// A job's uploads, stored.
pub struct Received {
    /// The options field.
    pub options: JobOptions,
    /// The kind the files make (the options' kind if given).
    pub kind: JobKind,
    /// The client's names of the files, in upload order.
    pub names: Vec<String>,
}

/// A size for a person: 2.0 GB, 512 MB, 900 kB.
pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000_000 => format!("{:.1} GB", b as f64 / 1e9),
        b if b >= 1_000_000 => format!("{:.0} MB", b as f64 / 1e6),
        b => format!("{:.0} kB", b as f64 / 1e3),
    }
}

/// Streams one field into `path`, adding its bytes to `used`; refuses past `limit`.
pub async fn save_field(field: &mut Field<'_>, path: &Path, used: &mut u64, limit: u64) -> Result<(), UploadError> {
    let mut file = tokio::fs::File::create(path).await?;
    while let Some(chunk) =
        field.chunk().await.map_err(|e| UploadError::BadRequest(format!("the upload broke off: {e}")))?
    {
        *used += chunk.len() as u64;
        if *used > limit {
            return Err(UploadError::TooLarge { limit: human_size(limit) });
        }
        file.write_all(&chunk).await?;
    }
    file.flush().await?;
    file.sync_all().await?;
    Ok(())
}

/// Reads and drops what is left of a refused upload, up to `limit` bytes, so that the client
/// reads the refusal instead of a reset connection.
pub async fn drain(multipart: &mut Multipart, limit: u64) {
    let mut read = 0u64;
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(chunk)) = field.chunk().await {
            read += chunk.len() as u64;
            if read > limit {
                return;
            }
        }
    }
}

/// Reads a job's multipart request into `dir/in`: fields `file` (one or more), `subtitles`
/// (webtoon) and `options` (JSON). The caller removes `dir` on error.
pub async fn receive(
    multipart: &mut Multipart,
    dir: &Path,
    limit: u64,
    engine: &std::sync::Arc<dyn Engine>,
) -> Result<Received, UploadError> {
    let input = dir.join("in");
    tokio::fs::create_dir_all(&input).await?;
    let mut used = 0u64;
    let mut options_text = String::new();
    let mut names = Vec::new();
    let mut images = 0usize;
    let mut videos = 0usize;
    let mut subtitles = false;
    let bad =
        |e: axum::extract::multipart::MultipartError| UploadError::BadRequest(format!("the upload broke off: {e}"));
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "options" => {
                let text = field.text().await.map_err(bad)?;
                if text.len() > 64 * 1024 {
                    return Err(UploadError::BadRequest("options: over 64 kB".into()));
                }
                options_text = text;
            }
            "subtitles" => {
                let path = input.join(SUBTITLES_NAME);
                save_field(&mut field, &path, &mut used, limit).await?;
                let bytes = tokio::fs::read(&path).await?;
                if std::str::from_utf8(&bytes).is_err() || bytes.contains(&0) {
                    let shown = field.file_name().unwrap_or("subtitles").to_string();
                    return Err(UploadError::Unsupported(format!(
                        "{shown}: not a subtitle file (SubRip or WebVTT text in UTF-8)"
                    )));
                }
                subtitles = true;
            }
            "file" | "files" => {
                if names.len() == MAX_FILES {
                    return Err(UploadError::Unsupported(format!("over {MAX_FILES} files in one job")));
                }
                let shown = field.file_name().map_or_else(|| format!("file {}", names.len() + 1), str::to_string);
                let part = input.join(format!("{:03}.part", names.len() + 1));
                save_field(&mut field, &part, &mut used, limit).await?;
                let what = {
                    let (engine, part) = (engine.clone(), part.clone());
                    tokio::task::spawn_blocking(move || engine.inspect(&part))
                        .await
                        .map_err(|e| UploadError::BadRequest(format!("inspecting the upload failed: {e}")))?
                };
                let stored: PathBuf = match what {
                    Ok(Upload::Image(ext)) => {
                        images += 1;
                        input.join(format!("{:03}.{ext}", names.len() + 1))
                    }
                    Ok(Upload::Video) => {
                        videos += 1;
                        input.join(VIDEO_NAME)
                    }
                    Err(reason) => return Err(UploadError::Unsupported(format!("{shown}: {reason}"))),
                };
                if videos > 1 || (videos == 1 && images > 0) {
                    return Err(UploadError::Unsupported(
                        "a job takes images, or one video: upload the others as their own jobs".into(),
                    ));
                }
                tokio::fs::rename(&part, &stored).await?;
                names.push(shown);
            }
            other => {
                return Err(UploadError::BadRequest(format!("unknown form field {other:?} (file, subtitles, options)")))
            }
        }
    }
    let options = JobOptions::parse(&options_text).map_err(|e| UploadError::BadRequest(e.to_string()))?;
    if names.is_empty() {
        return Err(UploadError::BadRequest("no file in the upload (form field \"file\")".into()));
    }
    let kind = match (options.kind, videos) {
        (Some(JobKind::Image), 1) => {
            return Err(UploadError::Unsupported("an image job needs images; this is a video".into()))
        }
        (Some(JobKind::Video | JobKind::Webtoon), 0) => {
            return Err(UploadError::Unsupported("a video or webtoon job needs one video; these are images".into()))
        }
        (Some(kind), _) => kind,
        (None, 0) => JobKind::Image,
        (None, _) => JobKind::Video,
    };
    if subtitles && kind != JobKind::Webtoon {
        return Err(UploadError::BadRequest("subtitles are for webtoon jobs".into()));
    }
    Ok(Received { options, kind, names })
}
