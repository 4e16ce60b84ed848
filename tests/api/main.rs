//! Tests of the whole service: real app, real database, one fresh database per test.

mod common;

mod aggregates;
mod auth;
mod bounded_errors;
mod browser;
mod csv_columns;
mod dashboard;
mod exports;
mod faults;
mod files;
mod migrations;
mod operations;
mod outage;
mod reference;
mod reports;
mod rounds;
mod spreadsheet;
pub mod standing;
mod workbooks;
mod writes;
