//! Tests of the whole service: real app, real database, one fresh database per test.

mod common;

mod accepted;
mod aggregates;
mod auth;
mod bounded_errors;
mod browser;
mod catalogue;
mod child_server;
mod csv_columns;
pub mod dashboard;
mod docs_page;
mod exports;
mod faults;
mod files;
mod hardening;
mod hostile_files;
mod migrations;
mod numbers;
mod operations;
mod outage;
mod periods;
mod project_pages;
mod queues;
mod reference;
mod reports;
mod rounds;
mod spreadsheet;
mod stale_templates;
pub mod standing;
mod versions;
pub mod workbooks;
mod writes;
