//! Where the filesystem puts the directories that come and go by the
//! thousand: incoming metric directories and transactions.
//!
//! ext4 without a journal, when it allocates an inode, skips those freed
//! in the last minutes, checking them one by one from the start of the
//! block group. In a group that has just lost thousands of files (a
//! processed backlog, a removed store) every new file then costs hundreds
//! of microseconds. The parents of those directories (the sacks and `tmp/`)
//! are therefore marked as tops of directory hierarchies (`chattr +T`):
//! ext4 spreads their subdirectories, and the files created in them, over
//! its groups as it spreads top-level directories, and no group piles up
//! the freed inodes of a whole run. Other filesystems ignore the mark.

use std::fs::{self, File};
use std::path::Path;

use rustix::fs::{IFlags, ioctl_getflags, ioctl_setflags};

use super::{Result, io_error};

/// Creates `dir` if missing and marks it so that its subdirectories are
/// spread over the disk.
pub fn create_spread_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    spread_subdirectories(dir);
    Ok(())
}

/// Marks `dir` as a top of directory hierarchies, where the filesystem
/// supports it: only a placement hint, so a refusal is no error.
fn spread_subdirectories(dir: &Path) {
    let Ok(file) = File::open(dir) else { return };
    if let Ok(flags) = ioctl_getflags(&file)
        && !flags.contains(IFlags::TOPDIR)
    {
        let _ = ioctl_setflags(&file, flags | IFlags::TOPDIR);
    }
}

/// Whether `dir` is marked (tests).
#[cfg(test)]
pub fn spreads_subdirectories(dir: &Path) -> bool {
    File::open(dir)
        .ok()
        .and_then(|file| ioctl_getflags(&file).ok())
        .is_some_and(|flags| flags.contains(IFlags::TOPDIR))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spread_directory_is_marked_where_the_filesystem_can_mark_it() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        create_spread_dir(&dir).unwrap();
        assert!(dir.is_dir());
        // Whether this filesystem takes the mark at all: set it directly.
        let probe = root.path().join("probe");
        fs::create_dir(&probe).unwrap();
        let file = File::open(&probe).unwrap();
        let supported = ioctl_getflags(&file)
            .and_then(|flags| ioctl_setflags(&file, flags | IFlags::TOPDIR))
            .is_ok();
        assert_eq!(spreads_subdirectories(&dir), supported);
        assert!(!spreads_subdirectories(root.path().join("a").as_path()));
    }
}
