//! uppfoljning: the national follow-up service for regional growth projects funded by
//! anslag 1:1. `main.rs` is the command line; `app` builds the HTTP service from `api`
//! (endpoints, which parse, authorise and respond), `service` (what the service decides),
//! `views` (what it answers), `db` (storage) and `domain` (the rules). ARCHITECTURE.md is
//! the map.

pub mod aggregate_index;
pub mod answer_cache;
pub mod api;
pub mod app;
pub mod auth;
pub mod config;
pub mod dashboard;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod observability;
pub mod oidc;
pub mod queues;
pub mod rate_limit;
pub mod service;
pub mod state;
pub mod views;
