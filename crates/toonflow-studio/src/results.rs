//! A finished job's result: the one file a user downloads (an image, a video, or an archive of
//! several images or of an episode), and the name it downloads under.

use crate::engine::JobKind;
use crate::jobs::walk_files;
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

/// Finds or builds the result of a job whose command succeeded; returns its path relative to
/// the job's folder. `inputs` are the client's file names, in upload order.
pub fn collect(kind: JobKind, dir: &Path, inputs: &[String]) -> Result<String, String> {
    let out = dir.join("out");
    match kind {
        JobKind::Video => {
            let video = out.join("comic.mp4");
            video.is_file().then(|| "out/comic.mp4".to_string()).ok_or_else(|| "the command wrote no video".into())
        }
        JobKind::Webtoon => {
            let episode = out.join("episode");
            let files: Vec<_> = walk_files(&episode).collect();
            if files.is_empty() {
                return Err("the command wrote no episode".into());
            }
            let entries = files.iter().map(|f| {
                let rel = f.strip_prefix(&out).expect("under out").to_string_lossy().replace('\\', "/");
                (rel, f.as_path())
            });
            write_zip(&dir.join("episode.zip"), entries)?;
            Ok("episode.zip".into())
        }
        JobKind::Image => {
            let files: Vec<_> = walk_files(&out).collect();
            match files.as_slice() {
                [] => Err("no image was stylized".into()),
                [one] => Ok(format!("out/{}", one.file_name().expect("a file").to_string_lossy())),
                several => {
                    let mut taken = HashSet::new();
                    let entries: Vec<_> = several
                        .iter()
                        .map(|f| {
                            let ext = f.extension().map_or(String::new(), |e| format!(".{}", e.to_string_lossy()));
                            let stem = f.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
                            let base = input_stem(&stem, inputs);
                            (unique(&mut taken, &base, &ext), f.as_path())
                        })
                        .collect();
                    write_zip(&dir.join("result.zip"), entries)?;
                    Ok("result.zip".into())
                }
            }
        }
    }
}

/// The name a result downloads under, from the client's first input name.
pub fn download_name(kind: JobKind, inputs: &[String], result: &str) -> String {
    let stem = inputs.first().map_or("toonflow".to_string(), |n| safe_name(file_stem(n)));
    let ext = Path::new(result).extension().map_or("bin".into(), |e| e.to_string_lossy().to_string());
    match (kind, inputs.len()) {
        (JobKind::Image, n) if n > 1 => format!("{stem}-and-{}-more-toonflow.zip", n - 1),
        (JobKind::Webtoon, _) => format!("{stem}-episode.zip"),
        _ => format!("{stem}-toonflow.{ext}"),
    }
}

/// The client's name for the upload stored as `stem` (`007` is the seventh upload).
fn input_stem(stem: &str, inputs: &[String]) -> String {
    crate::upload::client_name(stem, inputs).map_or_else(|| safe_name(stem), |name| safe_name(file_stem(name)))
}

fn file_stem(name: &str) -> &str {
    // Client names may carry a folder (a dropped folder's files): only the last part counts.
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.rsplit_once('.').map_or(base, |(stem, _)| stem)
}

/// A name safe in an archive and a download header: letters, digits, `-`, `_`; at most 60.
pub fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .take(60)
        .collect();
    let cleaned = cleaned.trim_matches('_').to_string();
    if cleaned.is_empty() {
        "upload".into()
    } else {
        cleaned
    }
}

fn unique(taken: &mut HashSet<String>, base: &str, ext: &str) -> String {
    let mut name = format!("{base}{ext}");
    let mut k = 2;
    while !taken.insert(name.clone()) {
        name = format!("{base}-{k}{ext}");
        k += 1;
    }
    name
}

/// Writes an uncompressed archive (its images and videos are compressed already) whole or not
/// at all.
fn write_zip<'a>(path: &Path, entries: impl IntoIterator<Item = (String, &'a Path)>) -> Result<(), String> {
    let failed = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", path.display());
    // What a killed earlier run of this job left beside the archive goes first.
    toonflow_fs::remove_stale_temporaries(&[path.to_path_buf()]);
    let temp = toonflow_fs::temp_file_beside(path, ".zip").map_err(|e| failed(&e))?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(temp.as_file()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored).large_file(true);
    for (name, file) in entries {
        zip.start_file(name, stored).map_err(|e| failed(&e))?;
        let mut reader = std::fs::File::open(file).map_err(|e| failed(&e))?;
        std::io::copy(&mut reader, &mut zip).map_err(|e| failed(&e))?;
    }
    zip.finish().map_err(|e| failed(&e))?.flush().map_err(|e| failed(&e))?;
    temp.persist(path).map_err(|e| failed(&e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_names_never_leave_a_safe_alphabet() {
        assert_eq!(safe_name("../../etc/passwd"), "etc_passwd");
        assert_eq!(safe_name("\"; rm -rf"), "rm_-rf");
        assert_eq!(safe_name("..."), "upload");
        assert_eq!(
            download_name(JobKind::Image, &["a/b/Beach day.JPG".into()], "out/001.png"),
            "Beach_day-toonflow.png"
        );
        assert_eq!(download_name(JobKind::Webtoon, &["x.mp4".into()], "episode.zip"), "x-episode.zip");
    }

    #[test]
    fn several_images_become_one_archive_named_after_the_uploads() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        for n in ["001.png", "002.png", "003.png"] {
            std::fs::write(out.join(n), n).unwrap();
        }
        let inputs = vec!["cat.jpg".to_string(), "cat.png".to_string(), "../dog.webp".to_string()];
        assert_eq!(collect(JobKind::Image, dir.path(), &inputs).unwrap(), "result.zip");
        let file = std::fs::File::open(dir.path().join("result.zip")).unwrap();
        let archive = zip::ZipArchive::new(file).unwrap();
        let mut names: Vec<String> = archive.file_names().map(|n| n.unwrap().to_string()).collect();
        names.sort();
        assert_eq!(names, ["cat-2.png", "cat.png", "dog.png"]);
    }
}
