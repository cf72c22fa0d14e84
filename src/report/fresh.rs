//! Writing an export's files where someone else controls what is already there (a USB stick):
//! every file is created new, in a folder the export creates new, and nothing on the way is
//! followed if it is a symbolic link.
//!
//! A stick is prepared by anyone. Written as plain paths (`create_dir_all`, `File::create`), a
//! link on it named like the export's folder or one of its files would take the write to
//! wherever it points: the pump's trial log included, truncated by the daemon's own rights.
//! Here instead:
//!
//! - the place the export goes (a stick's mount point) is opened with `O_DIRECTORY|O_NOFOLLOW`,
//!   and each folder below it through its parent's descriptor (`openat`) the same way, so no
//!   path is looked up twice and a link is never a folder;
//! - the export's own folder must not exist yet: `mkdirat` creates it, and anything already
//!   under that name (a folder, a file, a link) is refused, naming what was found;
//! - each file is created through that folder's descriptor with `O_CREAT|O_EXCL|O_NOFOLLOW`
//!   under a temporary name, written, flushed, then renamed to its own name with
//!   `RENAME_NOREPLACE`: nothing that exists is ever opened for writing, truncated or replaced,
//!   and a stick pulled out half-way leaves no half-written file under a real name.
//!
//! FAT and exFAT (the only formats [`super::usb`] accepts) cannot hold links at all, and the
//! stick is mounted `nosymfollow`; this is what holds whatever the filesystem or the mount.
//! Every refusal is a [`UsbError`] the clinician reads.

use std::io::Write as _;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use super::export::ExportFile;
use super::usb::UsbError;
use crate::core::tr;

/// Folders the export creates: rwxr-xr-x (less the process's umask; FAT ignores it).
const FOLDER_MODE: u32 = 0o755;
/// Files the export creates: rw-r--r--, never executable (less the umask).
const FILE_MODE: u32 = 0o644;

/// What is under a name in a folder, looked at without following a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Nothing,
    Link,
    Folder,
    File,
    /// A device file, a pipe or a socket.
    Other,
}

fn found_at(dir: BorrowedFd<'_>, name: impl rustix::path::Arg) -> Found {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Err(_) => Found::Nothing,
        Ok(st) => match FileType::from_raw_mode(st.st_mode) {
            FileType::Symlink => Found::Link,
            FileType::Directory => Found::Folder,
            FileType::RegularFile => Found::File,
            _ => Found::Other,
        },
    }
}

/// The refusal for something found under `name` where the export writes.
fn in_the_way(found: Found, name: &str) -> UsbError {
    let name = name.to_owned();
    match found {
        Found::Link => UsbError::LinkInTheWay { name },
        Found::Folder => UsbError::InTheWay {
            name,
            found: tr!("a folder").to_owned(),
        },
        Found::File => UsbError::InTheWay {
            name,
            found: tr!("a file").to_owned(),
        },
        Found::Other | Found::Nothing => UsbError::InTheWay {
            name,
            found: tr!("something other than a file or folder").to_owned(),
        },
    }
}

fn failed(name: &str, e: impl std::fmt::Display) -> UsbError {
    UsbError::WriteFailed {
        name: name.to_owned(),
        reason: e.to_string(),
    }
}

/// One name inside a folder: not empty, not "." or "..", no '/' or NUL, not hidden.
fn plain_name(name: &str) -> Result<&str, UsbError> {
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.starts_with('.')
        || name.contains(['/', '\0'])
    {
        return Err(failed(name, tr!("not a plain file or folder name")));
    }
    Ok(name)
}

/// Opens the folder `name` in `dir` without following a link; a link or anything but a folder
/// there is refused.
fn open_folder(dir: BorrowedFd<'_>, name: &str) -> Result<OwnedFd, UsbError> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    rustix::fs::openat(dir, name, flags, Mode::empty()).map_err(|e| match e {
        // O_NOFOLLOW on a link gives ELOOP, O_DIRECTORY on it or on a file ENOTDIR.
        Errno::LOOP | Errno::NOTDIR => in_the_way(found_at(dir, name), name),
        e => failed(name, e),
    })
}

/// A folder the export created new, open, that files are written into.
#[derive(Debug)]
pub struct FreshFolder {
    fd: OwnedFd,
    /// The folder it is in, to make its entry durable (or remove it).
    parent: OwnedFd,
    name: String,
    path: PathBuf,
}

impl FreshFolder {
    /// Creates the folder `base/within.../name` and opens it. `base` (a stick's mount point, or
    /// a configured directory) must be a folder, not a link; each of `within` is created if
    /// missing and must be a folder, not a link; `name` must not exist at all. Nothing is
    /// followed if it is a link.
    pub fn create(base: &Path, within: &[&str], name: &str) -> Result<FreshFolder, UsbError> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let shown = base.display().to_string();
        let mut parent = rustix::fs::openat(rustix::fs::CWD, base, flags, Mode::empty()).map_err(
            |e| match e {
                Errno::LOOP | Errno::NOTDIR => in_the_way(found_at(rustix::fs::CWD, base), &shown),
                e => failed(&shown, e),
            },
        )?;
        let mut path = base.to_path_buf();
        for folder in within {
            let folder = plain_name(folder)?;
            match rustix::fs::mkdirat(&parent, folder, Mode::from_raw_mode(FOLDER_MODE)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(failed(folder, e)),
            }
            parent = open_folder(parent.as_fd(), folder)?;
            path.push(folder);
        }
        let name = plain_name(name)?;
        match rustix::fs::mkdirat(&parent, name, Mode::from_raw_mode(FOLDER_MODE)) {
            Ok(()) => {}
            Err(Errno::EXIST) => return Err(in_the_way(found_at(parent.as_fd(), name), name)),
            Err(e) => return Err(failed(name, e)),
        }
        // Between mkdirat and here another writer could swap in a link (refused by
        // O_NOFOLLOW) or another folder (whose names then make the O_EXCL creates fail).
        let fd = open_folder(parent.as_fd(), name)?;
        path.push(name);
        Ok(FreshFolder {
            fd,
            parent,
            name: name.to_owned(),
            path,
        })
    }

    /// Where the folder is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one file, created new: refused if anything is already under its name (or under
    /// its temporary name). Its path.
    pub fn write(&self, file: &ExportFile) -> Result<PathBuf, UsbError> {
        let name = plain_name(&file.name)?;
        let part = format!(".{name}.part");
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, &part, flags, Mode::from_raw_mode(FILE_MODE))
            .map_err(|e| match e {
                Errno::EXIST => in_the_way(found_at(self.fd.as_fd(), &part), &part),
                e => failed(name, e),
            })?;
        let mut out = std::fs::File::from(fd);
        let written = out.write_all(&file.bytes).and_then(|()| out.sync_all());
        drop(out);
        if let Err(e) = written {
            self.forget(&part);
            return Err(failed(name, e));
        }
        match rustix::fs::renameat_with(&self.fd, &part, &self.fd, name, RenameFlags::NOREPLACE) {
            Ok(()) => {}
            Err(Errno::EXIST) => {
                self.forget(&part);
                return Err(in_the_way(found_at(self.fd.as_fd(), name), name));
            }
            // A filesystem that cannot refuse to replace (some FUSE drivers): look, then a
            // plain rename, which replaces a name and never writes through what it named.
            Err(Errno::INVAL | Errno::NOSYS) => {
                let there = found_at(self.fd.as_fd(), name);
                if there != Found::Nothing {
                    self.forget(&part);
                    return Err(in_the_way(there, name));
                }
                rustix::fs::renameat(&self.fd, &part, &self.fd, name).map_err(|e| {
                    self.forget(&part);
                    failed(name, e)
                })?;
            }
            Err(e) => {
                self.forget(&part);
                return Err(failed(name, e));
            }
        }
        Ok(self.path.join(name))
    }

    /// Removes a temporary file of this export (the name only: unlinking never writes through
    /// a link).
    fn forget(&self, part: &str) {
        if let Err(e) = rustix::fs::unlinkat(&self.fd, part, AtFlags::empty()) {
            tracing::warn!(file = part, error = %e, "a temporary export file could not be removed");
        }
    }

    /// Removes the files this export wrote (`names`) and then the folder, as far as it can: a
    /// refused or failed export leaves nothing of its own behind. Only names are removed; a
    /// folder that holds anything else (something planted in it) stays.
    pub fn abandon(self, names: &[&str]) {
        for name in names {
            self.forget(name);
        }
        if let Err(e) = rustix::fs::unlinkat(&self.parent, &self.name, AtFlags::REMOVEDIR) {
            tracing::warn!(folder = %self.path.display(), error = %e, "an abandoned export's folder could not be removed");
        }
    }

    /// Makes the folder's entries, and the folder itself, durable where the filesystem allows
    /// it (FAT on a stick may not).
    pub fn finish(self) {
        for fd in [&self.fd, &self.parent] {
            if let Err(e) = rustix::fs::fsync(fd) {
                tracing::debug!(error = %e, "a folder of the export could not be synced");
            }
        }
    }
}

/// Writes `files` into the new folder `base/within.../name` (see [`FreshFolder::create`]),
/// each created new, in order (the manifest last). The folder and the files' paths. When a file
/// is refused or cannot be written, what this export wrote is removed again (as far as the
/// stick allows) and the refusal returned.
pub fn write_new(
    base: &Path,
    within: &[&str],
    name: &str,
    files: &[ExportFile],
) -> Result<(PathBuf, Vec<PathBuf>), UsbError> {
    let folder = FreshFolder::create(base, within, name)?;
    let mut written = Vec::new();
    for f in files {
        match folder.write(f) {
            Ok(path) => written.push(path),
            Err(e) => {
                let names: Vec<&str> = files[..written.len()]
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect();
                folder.abandon(&names);
                return Err(e);
            }
        }
    }
    let path = folder.path().to_path_buf();
    folder.finish();
    Ok((path, written))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{PermissionsExt as _, symlink};

    use super::*;

    use crate::scratch::Scratch;

    fn scratch(name: &str) -> Scratch {
        Scratch::new(&format!("fresh-{name}"))
    }

    /// The stick's root, and beside it (not on it) the pump's own data with a trial log.
    fn stick_and_pump(scratch: &Scratch) -> (PathBuf, PathBuf) {
        let stick = scratch.path().join("stick");
        let pump = scratch.path().join("var-lib-titra");
        std::fs::create_dir_all(&stick).unwrap();
        std::fs::create_dir_all(&pump).unwrap();
        std::fs::write(pump.join("titra.db"), TRIAL_LOG).unwrap();
        (stick, pump)
    }

    const TRIAL_LOG: &[u8] = b"SQLite format 3\0 the trial log, never to be touched";
    const FOLDER: &str = "MRN-7_2026-11-23_export_20261130T140509Z";

    fn file(name: &str, bytes: &[u8]) -> ExportFile {
        ExportFile {
            name: name.to_owned(),
            bytes: bytes.to_vec(),
            sha256: crate::digest::sha256_hex(bytes),
        }
    }

    /// Two files and their manifest, as `export::build` gives them.
    fn export() -> Vec<ExportFile> {
        let mut files = vec![
            file("MRN-7_2026-11-23_summary.json", b"{\"schema\": 1}\n"),
            file("MRN-7_2026-11-23_timeseries.csv", b"at,what\n0,start\n"),
        ];
        let manifest: String = files
            .iter()
            .map(|f| format!("{}  {}\n", f.sha256, f.name))
            .collect();
        files.push(file(
            "MRN-7_2026-11-23_manifest.sha256",
            manifest.as_bytes(),
        ));
        files
    }

    /// The pump's own directory holds its trial log, unchanged, and nothing else.
    fn untouched(pump: &Path) {
        let names: Vec<_> = std::fs::read_dir(pump)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            ["titra.db"],
            "nothing was added beside the trial log"
        );
        assert_eq!(std::fs::read(pump.join("titra.db")).unwrap(), TRIAL_LOG);
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn an_export_writes_every_file_new_with_its_manifest_in_a_folder_of_its_own() {
        let scratch = scratch("normal");
        let (stick, _) = stick_and_pump(&scratch);
        let files = export();
        let (folder, written) = write_new(&stick, &["titra"], FOLDER, &files).unwrap();
        assert_eq!(folder, stick.join("titra").join(FOLDER));
        assert_eq!(
            written,
            files
                .iter()
                .map(|f| folder.join(&f.name))
                .collect::<Vec<_>>()
        );
        // Every file, and nothing else (no temporary file left).
        let mut expected: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
        expected.sort();
        assert_eq!(names_in(&folder), expected);
        for f in &files {
            assert_eq!(std::fs::read(folder.join(&f.name)).unwrap(), f.bytes);
        }
        // The manifest checks the files as they are on the stick (as `sha256sum -c` would).
        let manifest =
            std::fs::read_to_string(folder.join("MRN-7_2026-11-23_manifest.sha256")).unwrap();
        assert_eq!(manifest.lines().count(), 2);
        for line in manifest.lines() {
            let (sha, name) = line.split_once("  ").unwrap();
            let on_disk = std::fs::read(folder.join(name)).unwrap();
            assert_eq!(crate::digest::sha256_hex(&on_disk), sha, "{name}");
        }
        // Files readable and writable by the pump, never executable, not writable by others;
        // folders not writable by others.
        for f in &files {
            let mode = std::fs::metadata(folder.join(&f.name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o600, 0o600, "{}: {mode:o}", f.name);
            assert_eq!(mode & 0o7133, 0, "{}: {mode:o}", f.name);
        }
        for dir in [stick.join("titra"), folder.clone()] {
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o700, 0o700, "{}: {mode:o}", dir.display());
            assert_eq!(mode & 0o7022, 0, "{}: {mode:o}", dir.display());
        }
        // A second export goes to a folder of its own beside the first, which stays as it was.
        let second = "MRN-7_2026-11-23_export_20261130T150000Z";
        let (other, _) = write_new(&stick, &["titra"], second, &files).unwrap();
        assert_eq!(other, stick.join("titra").join(second));
        assert_eq!(names_in(&stick.join("titra")), [FOLDER, second]);
        assert_eq!(names_in(&folder), expected);
    }

    #[test]
    fn a_link_where_a_folder_would_go_is_refused_and_its_target_untouched() {
        let scratch = scratch("folder-link");
        let (stick, pump) = stick_and_pump(&scratch);
        let files = export();
        // The stick's "titra" folder is a link to the pump's own data.
        symlink(&pump, stick.join("titra")).unwrap();
        let e = write_new(&stick, &["titra"], FOLDER, &files).unwrap_err();
        assert_eq!(
            e,
            UsbError::LinkInTheWay {
                name: "titra".to_owned()
            }
        );
        assert_eq!(
            e.to_string(),
            "The USB stick has a link named \"titra\" where the export writes. The pump never writes through a link on a stick, so nothing was written. Use another stick."
        );
        untouched(&pump);
        std::fs::remove_file(stick.join("titra")).unwrap();

        // The export's own folder is a link: to the pump's directory, to the trial log itself,
        // or to where a new file would be made there.
        std::fs::create_dir(stick.join("titra")).unwrap();
        for target in [pump.clone(), pump.join("titra.db"), pump.join("new.db")] {
            let link = stick.join("titra").join(FOLDER);
            symlink(&target, &link).unwrap();
            let e = write_new(&stick, &["titra"], FOLDER, &files).unwrap_err();
            assert_eq!(
                e,
                UsbError::LinkInTheWay {
                    name: FOLDER.to_owned()
                },
                "{}",
                target.display()
            );
            untouched(&pump);
            std::fs::remove_file(&link).unwrap();
        }

        // The place the export goes is itself a link.
        let linked = scratch.path().join("linked-stick");
        symlink(&pump, &linked).unwrap();
        let e = write_new(&linked, &["titra"], FOLDER, &files).unwrap_err();
        assert!(matches!(e, UsbError::LinkInTheWay { .. }), "{e:?}");
        untouched(&pump);
    }

    #[test]
    fn a_link_where_a_file_would_go_is_refused_and_its_target_untouched() {
        let scratch = scratch("file-link");
        let (stick, pump) = stick_and_pump(&scratch);
        let files = export();
        // Something else plants links in the new folder while the export writes (a faulty or
        // hostile stick): at a file's name, to the trial log; at its temporary name; and a
        // dangling one, to a file that does not exist yet.
        let folder = FreshFolder::create(&stick, &["titra"], FOLDER).unwrap();
        let plant = |name: &str, target: &Path| symlink(target, folder.path().join(name)).unwrap();
        plant(&files[0].name, &pump.join("titra.db"));
        let e = folder.write(&files[0]).unwrap_err();
        assert_eq!(
            e,
            UsbError::LinkInTheWay {
                name: files[0].name.clone()
            }
        );
        untouched(&pump);

        let part = format!(".{}.part", files[1].name);
        plant(&part, &pump.join("titra.db"));
        let e = folder.write(&files[1]).unwrap_err();
        assert_eq!(e, UsbError::LinkInTheWay { name: part.clone() });
        untouched(&pump);

        plant(&files[2].name, &pump.join("new.db"));
        let e = folder.write(&files[2]).unwrap_err();
        assert_eq!(
            e,
            UsbError::LinkInTheWay {
                name: files[2].name.clone()
            }
        );
        untouched(&pump);

        // Only the links planted are left: no temporary file, nothing written through them.
        let mut planted = vec![files[0].name.clone(), part, files[2].name.clone()];
        planted.sort();
        assert_eq!(names_in(folder.path()), planted);
        for name in &planted {
            let meta = std::fs::symlink_metadata(folder.path().join(name)).unwrap();
            assert!(meta.file_type().is_symlink(), "{name}");
        }
    }

    #[test]
    fn a_refused_export_removes_what_it_wrote_and_nothing_else() {
        let scratch = scratch("abandon");
        let (stick, pump) = stick_and_pump(&scratch);
        let files = export();
        // Two files written, then a link appears where the manifest goes.
        let folder = FreshFolder::create(&stick, &["titra"], FOLDER).unwrap();
        let path = folder.path().to_path_buf();
        folder.write(&files[0]).unwrap();
        folder.write(&files[1]).unwrap();
        symlink(pump.join("titra.db"), path.join(&files[2].name)).unwrap();
        assert!(matches!(
            folder.write(&files[2]),
            Err(UsbError::LinkInTheWay { .. })
        ));
        folder.abandon(&[&files[0].name, &files[1].name]);
        // The export's own files are gone; the link planted stays, so does the folder.
        assert_eq!(names_in(&path), [files[2].name.clone()]);
        untouched(&pump);

        // Abandoned with nothing planted, the folder goes too.
        let other = "MRN-7_2026-11-23_export_20261130T150000Z";
        let folder = FreshFolder::create(&stick, &["titra"], other).unwrap();
        folder.write(&files[0]).unwrap();
        folder.abandon(&[&files[0].name]);
        assert_eq!(names_in(&stick.join("titra")), [FOLDER]);
    }

    #[test]
    fn a_folder_or_file_already_where_the_export_goes_is_refused_and_left_as_it_was() {
        let scratch = scratch("exists");
        let (stick, _) = stick_and_pump(&scratch);
        let files = export();
        // A folder of the same name, from an earlier export or put there on purpose.
        let earlier = stick.join("titra").join(FOLDER);
        std::fs::create_dir_all(&earlier).unwrap();
        std::fs::write(earlier.join(&files[0].name), b"an earlier export").unwrap();
        let e = write_new(&stick, &["titra"], FOLDER, &files).unwrap_err();
        assert_eq!(
            e,
            UsbError::InTheWay {
                name: FOLDER.to_owned(),
                found: "a folder".to_owned()
            }
        );
        assert_eq!(
            e.to_string(),
            format!(
                "The USB stick already has a folder named \"{FOLDER}\" where the export writes, so nothing was written there. Press Export again, or use another stick."
            )
        );
        assert_eq!(names_in(&earlier), [files[0].name.clone()]);
        assert_eq!(
            std::fs::read(earlier.join(&files[0].name)).unwrap(),
            b"an earlier export"
        );

        // A file where the stick's "titra" folder would be.
        let other = scratch.path().join("other-stick");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("titra"), b"notes").unwrap();
        let e = write_new(&other, &["titra"], FOLDER, &files).unwrap_err();
        assert_eq!(
            e,
            UsbError::InTheWay {
                name: "titra".to_owned(),
                found: "a file".to_owned()
            }
        );
        assert_eq!(std::fs::read(other.join("titra")).unwrap(), b"notes");
    }

    #[test]
    fn only_plain_names_are_written() {
        let scratch = scratch("names");
        let (stick, pump) = stick_and_pump(&scratch);
        for name in ["", ".", "..", "../var-lib-titra", "a/b", ".hidden", "nul\0"] {
            let e = write_new(&stick, &[], name, &export()).unwrap_err();
            assert!(matches!(e, UsbError::WriteFailed { .. }), "{name:?}: {e:?}");
            let e = write_new(&stick, &[name], FOLDER, &export()).unwrap_err();
            assert!(matches!(e, UsbError::WriteFailed { .. }), "{name:?}: {e:?}");
        }
        let folder = FreshFolder::create(&stick, &[], FOLDER).unwrap();
        let e = folder
            .write(&file("../var-lib-titra/titra.db", b"x"))
            .unwrap_err();
        assert!(matches!(e, UsbError::WriteFailed { .. }), "{e:?}");
        untouched(&pump);
        assert_eq!(names_in(&stick), [FOLDER]);
    }
}
