//! A run's output folder, written safely: a folder holding a run is only replaced with `force`,
//! no output may be one of the inputs or anything but a regular file, and a run's files are
//! written into a staging folder and moved into place only once all of them are written
//! ([`Staging`]), so that a run failing on the way leaves the folder's earlier run as it was.

use std::path::{Path, PathBuf};

use crate::error::{Result, TrainError};

/// Files that mark a folder as holding a run.
pub const RUN_FILES: [&str; 4] = [
    "model.tsf",
    "metrics.json",
    "history.json",
    "predictions.csv",
];

/// Name of the staging folder inside an output folder.
pub const STAGING_DIR: &str = ".tsf-staging";

fn output_error(path: &Path, message: impl Into<String>) -> TrainError {
    TrainError::Output {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Refuses an output folder that is not a folder, or that already holds a run (one of
/// [`RUN_FILES`], or the checkpoint of an interrupted one) unless `force`.
pub fn check_run_folder(out: &Path, force: bool) -> Result<()> {
    let marks: Vec<&str> = RUN_FILES
        .iter()
        .copied()
        .chain([crate::checkpoint::CHECKPOINT_FILE])
        .collect();
    check_output_folder(out, force, &marks, "a run")
}

/// Refuses an output path that exists and is not a folder, or a folder holding one of `marks`
/// (the files of an earlier command's results, which `holds` describes) unless `force`.
pub fn check_output_folder(out: &Path, force: bool, marks: &[&str], holds: &str) -> Result<()> {
    if out.exists() && !out.is_dir() {
        return Err(output_error(out, "output path exists and is not a folder"));
    }
    if !force && let Some(f) = marks.iter().find(|f| out.join(f).exists()) {
        return Err(output_error(
            out,
            format!(
                "output folder already holds {holds} ({f}); use --force to overwrite it or choose another --out"
            ),
        ));
    }
    Ok(())
}

/// Refuses an output file that exists unless `force`: a command replaces a file only when asked.
pub fn check_new_file(out: &Path, force: bool) -> Result<()> {
    if !force && out.exists() {
        return Err(output_error(
            out,
            "the file exists; use --force to replace it or choose another output path",
        ));
    }
    Ok(())
}

/// Whether two paths name the same existing file (same device and inode on Unix, same
/// canonical path elsewhere), through links and `..`.
pub fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        ma.dev() == mb.dev() && ma.ino() == mb.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (ma, mb);
        matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    }
}

/// Whether two paths name the same file, existing or not: [`same_file`], or the same name in the
/// same folder (the folders compared through links and `..` when they exist). For two outputs
/// of one command, the second of which would replace the first.
pub fn same_path(a: &Path, b: &Path) -> bool {
    if same_file(a, b) {
        return true;
    }
    let resolved = |p: &Path| {
        let name = p.file_name()?.to_os_string();
        let parent = p.parent().filter(|d| !d.as_os_str().is_empty());
        let dir = parent.map_or_else(|| Path::new(".").canonicalize(), Path::canonicalize);
        Some((dir.ok()?, name))
    };
    match (resolved(a), resolved(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Refuses an output path that is the same file as one of the inputs (writing it would destroy
/// the input), or that exists and is not a regular file (a symbolic link, FIFO, device, socket
/// or folder).
pub fn check_output(out: &Path, inputs: &[&Path]) -> Result<()> {
    if let Some(input) = inputs.iter().find(|i| same_file(out, i)) {
        return Err(output_error(
            out,
            format!(
                "the output is the same file as the input {}; choose another output path",
                input.display()
            ),
        ));
    }
    ts_model::file::check_output_path(out)?;
    Ok(())
}

/// Removes temporary files that a killed process left behind in a run folder (atomic writes go
/// through `.tsf-*.tmp` files, and charts through `<chart>.png.tmp`/`.svg.tmp`, renamed into
/// place; a kill before the rename leaves one).
pub fn remove_stray_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let chart = [".png.tmp", ".svg.tmp"].iter().any(|x| name.ends_with(x));
        if (name.starts_with(".tsf-") && name.ends_with(".tmp")) || chart {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The stem of a chart file's name (`residuals.png` → `residuals`): the charts are written as
/// PNG and SVG. `None` for any other file.
pub fn chart_stem(name: &str) -> Option<&str> {
    name.strip_suffix(".png")
        .or_else(|| name.strip_suffix(".svg"))
}

/// Whether `name` is one of the files `tsf train` writes into a run folder: [`RUN_FILES`], the
/// checkpoint, and the charts (`training_history`, `predictions_vs_actuals`, `residuals`,
/// `multivariate_predictions[_N]`, as PNG and SVG).
pub fn is_run_file(name: &str) -> bool {
    if RUN_FILES.contains(&name) || name == crate::checkpoint::CHECKPOINT_FILE {
        return true;
    }
    let Some(stem) = chart_stem(name) else {
        return false;
    };
    let numbered = stem
        .strip_prefix("multivariate_predictions_")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    numbered
        || [
            "training_history",
            "predictions_vs_actuals",
            "residuals",
            "multivariate_predictions",
        ]
        .contains(&stem)
}

/// The files an earlier result left in an output folder, noted before a new result is written
/// over it (`--force`), so that those the new result does not replace (a chart it does not draw,
/// an earlier run's checkpoint) can be removed once it is in place and do not pass for part of
/// it. Only files that `owned` names are noted: a file a user keeps beside them is never touched.
#[derive(Debug, Default)]
pub struct StaleFiles {
    files: Vec<(PathBuf, FileStamp)>,
}

/// What tells a file apart from its replacement: a new file (written and renamed into place)
/// has another inode, or at least another modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    #[cfg(unix)]
    ino: (u64, u64),
    modified: Option<std::time::SystemTime>,
    len: u64,
}

impl FileStamp {
    fn of(path: &Path) -> Option<Self> {
        let m = std::fs::symlink_metadata(path).ok()?;
        if !m.is_file() {
            return None;
        }
        #[cfg(unix)]
        let ino = {
            use std::os::unix::fs::MetadataExt;
            (m.dev(), m.ino())
        };
        Some(Self {
            #[cfg(unix)]
            ino,
            modified: m.modified().ok(),
            len: m.len(),
        })
    }
}

impl StaleFiles {
    /// Notes the regular files of `out` whose names `owned` accepts (nothing when `out` does not
    /// exist).
    pub fn note(out: &Path, owned: impl Fn(&str) -> bool) -> Self {
        let Ok(entries) = std::fs::read_dir(out) else {
            return Self::default();
        };
        let mut files: Vec<(PathBuf, FileStamp)> = entries
            .flatten()
            .filter(|e| e.file_name().to_str().is_some_and(&owned))
            .filter_map(|e| FileStamp::of(&e.path()).map(|s| (e.path(), s)))
            .collect();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Self { files }
    }

    /// How many files were noted.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file was noted.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Removes the noted files that are still the ones noted (the new result did not replace
    /// them); returns their paths.
    pub fn remove_untouched(self) -> Vec<PathBuf> {
        let mut removed = Vec::new();
        for (path, stamp) in self.files {
            if FileStamp::of(&path).as_ref() == Some(&stamp) && std::fs::remove_file(&path).is_ok()
            {
                removed.push(path);
            }
        }
        removed
    }
}

/// A run's outputs are written into `OUT/.tsf-staging` and moved into `OUT` by
/// [`Staging::commit`] only when all of them are written. Dropped without a commit, the staging
/// folder is removed.
#[derive(Debug)]
pub struct Staging {
    out: PathBuf,
    dir: PathBuf,
    committed: bool,
}

impl Staging {
    /// Creates `out` if needed and an empty staging folder in it (removing one a killed run left
    /// behind).
    pub fn new(out: &Path) -> Result<Self> {
        std::fs::create_dir_all(out)
            .map_err(|e| output_error(out, format!("cannot create output folder: {e}")))?;
        let dir = out.join(STAGING_DIR);
        if std::fs::symlink_metadata(&dir).is_ok() {
            std::fs::remove_dir_all(&dir)
                .or_else(|_| std::fs::remove_file(&dir))
                .map_err(|e| {
                    output_error(&dir, format!("cannot remove the old staging folder: {e}"))
                })?;
        }
        std::fs::create_dir(&dir)
            .map_err(|e| output_error(&dir, format!("cannot create the staging folder: {e}")))?;
        Ok(Self {
            out: out.to_path_buf(),
            dir,
            committed: false,
        })
    }

    /// The staging folder: write the run's files here.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves every staged file into the output folder (each by an atomic rename), after checking
    /// that none of them would replace anything but a regular file.
    pub fn commit(mut self) -> Result<()> {
        let list = |e: std::io::Error| output_error(&self.dir, format!("cannot list: {e}"));
        let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(&self.dir)
            .map_err(list)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()
            .map_err(list)?;
        names.sort();
        for n in &names {
            ts_model::file::check_output_path(&self.out.join(n))?;
        }
        for n in &names {
            let to = self.out.join(n);
            std::fs::rename(self.dir.join(n), &to)
                .map_err(|e| output_error(&to, format!("cannot write: {e}")))?;
        }
        if let Ok(d) = std::fs::File::open(&self.out) {
            let _ = d.sync_all();
        }
        self.committed = true;
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_paths_to_one_new_file_are_the_same() {
        let root = tempfile::tempdir().unwrap();
        let d = root.path();
        std::fs::create_dir(d.join("sub")).unwrap();
        assert!(same_path(&d.join("a.csv"), &d.join("sub/../a.csv")));
        assert!(!same_path(&d.join("a.csv"), &d.join("b.csv")));
        assert!(!same_path(&d.join("a.csv"), &d.join("sub/a.csv")));
        std::fs::write(d.join("x"), "").unwrap();
        std::os::unix::fs::symlink(d.join("x"), d.join("y")).unwrap();
        assert!(same_path(&d.join("x"), &d.join("y")));
    }

    #[test]
    fn run_files_are_told_from_a_users_files() {
        for n in [
            "model.tsf",
            "checkpoint.tsfck",
            "residuals.svg",
            "multivariate_predictions_12.png",
            "training_history.png",
        ] {
            assert!(is_run_file(n), "{n}");
        }
        for n in [
            "notes.png",
            "model.tsf.bak",
            "multivariate_predictions_x.png",
            "data.csv",
            "residuals.pdf",
        ] {
            assert!(!is_run_file(n), "{n}");
        }
    }

    #[test]
    fn stale_files_are_removed_only_when_not_replaced() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path();
        for n in [
            "residuals.png",
            "residuals.svg",
            "checkpoint.tsfck",
            "notes.png",
        ] {
            std::fs::write(out.join(n), "old").unwrap();
        }
        let stale = StaleFiles::note(out, is_run_file);
        assert_eq!(stale.len(), 3);
        // The new result replaces residuals.png (by a rename, as Staging does).
        let s = Staging::new(out).unwrap();
        std::fs::write(s.dir().join("residuals.png"), "new").unwrap();
        s.commit().unwrap();
        let removed = stale.remove_untouched();
        assert_eq!(
            removed,
            vec![out.join("checkpoint.tsfck"), out.join("residuals.svg")]
        );
        assert_eq!(
            std::fs::read_to_string(out.join("residuals.png")).unwrap(),
            "new"
        );
        assert_eq!(
            std::fs::read_to_string(out.join("notes.png")).unwrap(),
            "old"
        );
    }

    #[test]
    fn staging_replaces_files_only_on_commit() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("run");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("metrics.json"), "old").unwrap();
        assert!(check_run_folder(&out, false).is_err());
        assert!(check_run_folder(&out, true).is_ok());
        {
            let s = Staging::new(&out).unwrap();
            std::fs::write(s.dir().join("metrics.json"), "new").unwrap();
            // Dropped without a commit: the old run stays, the staging folder goes.
        }
        assert_eq!(
            std::fs::read_to_string(out.join("metrics.json")).unwrap(),
            "old"
        );
        assert!(!out.join(STAGING_DIR).exists());
        let s = Staging::new(&out).unwrap();
        std::fs::write(s.dir().join("metrics.json"), "new").unwrap();
        s.commit().unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("metrics.json")).unwrap(),
            "new"
        );
        assert!(!out.join(STAGING_DIR).exists());
    }

    #[test]
    fn an_input_is_never_an_output() {
        let root = tempfile::tempdir().unwrap();
        let input = root.path().join("data.csv");
        std::fs::write(&input, "a\n1\n").unwrap();
        let err = check_output(&input, &[&input]).unwrap_err().to_string();
        assert!(err.contains("same file as the input"), "{err}");
        assert!(check_output(&root.path().join("other.csv"), &[&input]).is_ok());
    }
}
