//! Looking inside archives and checking them: `dump`, `info`, `verify` and
//! `archive-policy estimate`. Works on a store (whatever its drivers) or,
//! without any index, on a genuine Gnocchi file-storage directory. Reads through the codec and the
//! store's layout; nothing here prints.

pub mod dump;
pub mod estimate;
pub mod import_gnocchi;
pub mod info;
pub mod layout;
pub mod remote;
pub mod repair;
pub mod scan;
pub mod verify;
