//! Published national figures as PxWeb API 2 tables: one table per indicator, with its
//! variables (region, sex where the indicator has it, contents, half-year), and the
//! specification's selection language over them. Pure: the service hands in the published
//! figures, the API writes the answers.

pub mod selection;
pub mod table;
