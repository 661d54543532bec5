//! The `tandem` CLI as a library: loading a program folder from disk and rendering diagnostics; `main.rs` only parses arguments.

pub mod embedded;
pub mod history_csv;
pub mod import;
pub mod import_map;
pub mod load;
pub mod local_time;
pub mod render;
