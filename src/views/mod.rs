//! What the service answers, as clients read it: the serialised shapes that the service
//! layer produces and the HTTP layer sends. Kept apart from the database rows and from the
//! request parsing so that every layer can name them without importing the layer above.

pub mod aggregates;
pub mod changes;
pub mod completeness;
pub mod reports;
pub mod snapshots;
pub mod submissions;
pub mod swedish;
