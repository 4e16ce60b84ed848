//! Pure types and rules of the follow-up domain. Nothing here does I/O.

pub mod aggregate;
pub mod change;
pub mod clock;
pub mod codes;
pub mod completeness;
pub mod decimal;
pub mod indicator;
pub mod orgnr;
pub mod period;
pub mod pxweb;
pub mod report;
pub mod search;
pub mod submission;
pub mod validation;

pub use clock::now;
