//! Integration tests, linked into one binary: each module exercises one
//! area against a fresh temporary store.

mod common;
mod golden;
