//! Tests of the whole service: real app, real database, one fresh database per test.

mod common;

mod aggregates;
mod auth;
mod browser;
mod dashboard;
mod faults;
mod files;
mod hardening;
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
