//! The service layer: what the service decides, called alike by the HTTP handlers (`api`)
//! and by the command line (`main.rs`). Each module is one use case; it reads and writes
//! through `db` and applies the rules of `domain`.

pub mod aggregates;
pub mod changes;
pub mod completeness;
pub mod demo_data;
pub mod projects;
pub mod pxweb;
pub mod reports;
pub mod sign_in;
pub mod snapshots;
pub mod submissions;
pub mod template;
