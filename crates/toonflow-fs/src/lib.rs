//! Outputs written whole or not at all. Every file or folder toonflow writes is first written
//! under a temporary name beside its target (same folder, so the final rename never crosses a
//! file system) and renamed into place only when complete: a reader, an error, Ctrl-C or a kill
//! at any moment sees either the old output or the new one, never half of one.
//!
//! Temporary names start with `.{target name}.toonflow-`, so they are hidden and say what they
//! belong to.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("result.txt");
//! toonflow_fs::write_atomic(&path, b"done").unwrap();
//! assert_eq!(std::fs::read(&path).unwrap(), b"done");
//! ```
#![deny(missing_docs)]

use std::io::Write;
use std::path::{Path, PathBuf};

/// The folder `path` lives in (`.` for a bare file name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The prefix of every temporary name that belongs to `target`.
fn temp_prefix(target: &Path) -> String {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    format!(".{name}.toonflow-")
}

/// A new, empty temporary file beside `path`, for an output that is streamed (a video encoder
/// writes it) and then moved over `path` with [`tempfile::NamedTempFile::persist`] or
/// [`tempfile::TempPath::persist`]. It is deleted when dropped unpersisted. `suffix` (such as
/// `.mp4`) lets programs that look at the name pick the format. The file gets the mode any new
/// file gets (0666 less the umask), not the private 0600 of temporary files, since it becomes
/// the user's output.
pub fn temp_file_beside(path: &Path, suffix: &str) -> std::io::Result<tempfile::NamedTempFile> {
    let prefix = temp_prefix(path);
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(suffix);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    builder.tempfile_in(parent_of(path))
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, flushed to disk, renamed over
/// it. On any error the temporary file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = temp_file_beside(path, ".tmp")?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A folder being filled beside its final place and swapped in whole by [`StagedDir::commit`].
/// Dropped without a commit, it removes what it wrote.
#[derive(Debug)]
pub struct StagedDir {
    target: PathBuf,
    staging: PathBuf,
    committed: bool,
}

/// Where the previous version of a folder waits while the new one is renamed in.
fn previous_of(target: &Path) -> PathBuf {
    parent_of(target).join(format!("{}previous", temp_prefix(target)))
}

/// Puts back a folder's previous version that a kill between the renames of a commit left aside
/// (the target is gone, the previous version complete).
fn recover_interrupted_commit(target: &Path) -> std::io::Result<()> {
    let previous = previous_of(target);
    if !target.exists() && previous.is_dir() {
        std::fs::rename(&previous, target)?;
    }
    Ok(())
}

impl StagedDir {
    /// Starts a new version of the folder `target` (which need not exist yet); a staging folder
    /// left by an earlier, killed attempt is removed first, and a previous version left aside by
    /// a killed commit is put back.
    pub fn new(target: &Path) -> std::io::Result<Self> {
        recover_interrupted_commit(target)?;
        let staging = parent_of(target).join(format!("{}staging", temp_prefix(target)));
        match std::fs::remove_dir_all(&staging) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        std::fs::create_dir_all(&staging)?;
        Ok(Self { target: target.to_path_buf(), staging, committed: false })
    }

    /// The staging folder, to write into.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Writes one file into the staging folder and flushes it to disk.
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        let mut file = std::fs::File::create(self.staging.join(name))?;
        file.write_all(bytes)?;
        file.sync_all()
    }

    /// Replaces `target` with the staged folder: the old version is moved aside, the new one
    /// renamed in, the old one removed. A kill between the two renames leaves the old version
    /// aside, where [`committed_dir`] finds it.
    pub fn commit(mut self) -> std::io::Result<()> {
        let previous = previous_of(&self.target);
        match std::fs::remove_dir_all(&previous) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        if self.target.exists() {
            std::fs::rename(&self.target, &previous)?;
        }
        std::fs::rename(&self.staging, &self.target)?;
        self.committed = true;
        let _ = std::fs::remove_dir_all(&previous);
        Ok(())
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

/// Before a [`StagedDir`] replaces `target`: the first entry in it that the writer did not make
/// (`ours` tells its names), so a mistyped output path cannot swap away someone's files. `None`
/// when `target` does not exist or holds only the writer's names; an error when it is not a
/// folder (a file there would be replaced by one).
pub fn foreign_entry(target: &Path, ours: impl Fn(&str) -> bool) -> std::io::Result<Option<String>> {
    if !target.exists() {
        return Ok(None);
    }
    if !target.is_dir() {
        return Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, "exists and is not a folder"));
    }
    for entry in std::fs::read_dir(target)? {
        let name = entry?.file_name();
        if !name.to_str().is_some_and(&ours) {
            return Ok(Some(name.to_string_lossy().into_owned()));
        }
    }
    Ok(None)
}

/// The last complete version of a folder written with [`StagedDir`]: the folder itself, or the
/// previous version when a kill came between the renames of a commit; `None` if neither exists.
pub fn committed_dir(target: &Path) -> Option<PathBuf> {
    [target.to_path_buf(), previous_of(target)].into_iter().find(|d| d.is_dir())
}

/// What makes a file itself, whatever path names it: its device and inode on Unix (hard links and
/// symbolic links included), its resolved path elsewhere.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FileId(#[cfg(unix)] (u64, u64), #[cfg(not(unix))] PathBuf);

/// The identity of an existing file or folder (`None` if it does not exist).
pub fn file_id(path: &Path) -> Option<FileId> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| FileId((m.dev(), m.ino())))
    }
    #[cfg(not(unix))]
    {
        path.canonicalize().ok().map(FileId)
    }
}

/// Whether two paths name the same existing file or folder (see [`FileId`]). A path that does
/// not exist names nothing.
pub fn same_file(a: &Path, b: &Path) -> bool {
    matches!((file_id(a), file_id(b)), (Some(x), Some(y)) if x == y)
}

/// `path` resolved as far as it exists (symbolic links and `..` of the existing part resolved),
/// with the rest appended: where a file that is about to be written will be.
pub fn resolve(path: &Path) -> PathBuf {
    let absolute =
        if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(path) };
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(resolved) = existing.canonicalize() {
            return rest.iter().rev().fold(resolved, |p, part| p.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

/// Whether `path` is `dir` or lies anywhere inside it (both resolved; either may not exist yet).
pub fn is_within(path: &Path, dir: &Path) -> bool {
    resolve(path).starts_with(resolve(dir))
}

/// Removes what earlier, killed runs left beside these targets: files and folders whose names
/// start with `.{target name}.toonflow-` in the target's folder, and nothing else. Call it when a
/// run that writes the targets starts (one listing per folder). Each removal is logged (info);
/// returns the paths removed.
pub fn remove_stale_temporaries(targets: &[PathBuf]) -> Vec<PathBuf> {
    let mut by_folder: std::collections::BTreeMap<&Path, Vec<String>> = Default::default();
    for target in targets {
        // A folder's only complete version is not stale.
        let _ = recover_interrupted_commit(target);
        by_folder.entry(parent_of(target)).or_default().push(temp_prefix(target));
    }
    let mut removed = Vec::new();
    for (folder, prefixes) in by_folder {
        let Ok(entries) = std::fs::read_dir(folder) else { continue };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !prefixes.iter().any(|p| name.starts_with(p.as_str())) {
                continue;
            }
            let path = entry.path();
            let gone = match entry.file_type() {
                Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
                _ => std::fs::remove_file(&path),
            };
            if gone.is_ok() {
                tracing::info!("removed {}, left by an interrupted run", path.display());
                removed.push(path);
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {

    #[test]
    fn foreign_entries_are_named_and_a_file_is_not_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        assert_eq!(foreign_entry(&target, |_| false).unwrap(), None, "missing is fine");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("ours.png"), b"").unwrap();
        assert_eq!(foreign_entry(&target, |n| n.ends_with(".png")).unwrap(), None);
        std::fs::write(target.join("theirs.txt"), b"").unwrap();
        assert_eq!(foreign_entry(&target, |n| n.ends_with(".png")).unwrap().as_deref(), Some("theirs.txt"));
        assert!(foreign_entry(&target.join("ours.png"), |_| true).is_err());
    }

    use super::*;

    #[test]
    fn links_and_other_spellings_are_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.jpg");
        std::fs::write(&a, b"x").unwrap();
        let other = dir.path().join("b.jpg");
        std::fs::write(&other, b"x").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert!(same_file(&a, &dir.path().join("./sub/../a.jpg")));
        assert!(!same_file(&a, &other), "equal bytes are not the same file");
        assert!(!same_file(&a, &dir.path().join("missing.jpg")));
        #[cfg(unix)]
        {
            let hard = dir.path().join("hard.jpg");
            std::fs::hard_link(&a, &hard).unwrap();
            let soft = dir.path().join("soft.jpg");
            std::os::unix::fs::symlink(&a, &soft).unwrap();
            assert!(same_file(&a, &hard) && same_file(&a, &soft));
        }
        let out = dir.path().join("out/frames");
        assert!(is_within(&out, dir.path()) && !is_within(dir.path(), &out));
        assert!(is_within(&dir.path().join("x/../a.jpg"), dir.path()));
    }

    #[test]
    fn only_the_targets_own_temporaries_are_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("clip.mp4");
        let keep = [".clip.mp4.other", "clip.mp4", ".other.mp4.toonflow-x.tmp", ".clip.mp4.toonflow"];
        for name in keep {
            std::fs::write(dir.path().join(name), b"keep").unwrap();
        }
        let stale = temp_file_beside(&target, ".mp4").unwrap().into_temp_path().keep().unwrap();
        std::fs::create_dir(dir.path().join(".clip.mp4.toonflow-staging")).unwrap();
        let removed = remove_stale_temporaries(std::slice::from_ref(&target));
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert!(!stale.exists());
        for name in keep {
            assert!(dir.path().join(name).exists(), "{name} was removed");
        }
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.png");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        // A target that is a folder cannot be replaced by a file.
        let blocked = dir.path().join("blocked");
        std::fs::create_dir(&blocked).unwrap();
        assert!(write_atomic(&blocked, b"x").is_err());
        let names: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn a_staged_folder_replaces_the_old_one_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("checkpoint");
        let first = StagedDir::new(&target).unwrap();
        first.write_file("a", b"1").unwrap();
        first.write_file("stale", b"1").unwrap();
        first.commit().unwrap();
        let second = StagedDir::new(&target).unwrap();
        second.write_file("a", b"2").unwrap();
        // Not committed yet: readers still see the first version.
        assert_eq!(std::fs::read(committed_dir(&target).unwrap().join("a")).unwrap(), b"1");
        second.commit().unwrap();
        assert_eq!(std::fs::read(target.join("a")).unwrap(), b"2");
        assert!(!target.join("stale").exists(), "files of the old version do not survive");
        // Dropped without a commit: nothing changes, nothing is left behind.
        let third = StagedDir::new(&target).unwrap();
        third.write_file("a", b"3").unwrap();
        drop(third);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // A kill between the renames: only the previous version exists, and it is found.
        std::fs::rename(&target, previous_of(&target)).unwrap();
        assert_eq!(std::fs::read(committed_dir(&target).unwrap().join("a")).unwrap(), b"2");
    }
}
