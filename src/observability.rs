//! Prometheus metrics: requests per route and status with their latency, submissions and
//! values stored, and the database pool's use. One recorder per process.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::domain::submission::records::Outcome;

const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("http_request_duration_seconds".into()),
                &LATENCY_BUCKETS,
            )
            .expect("non-empty buckets")
            .install_recorder()
            .expect("the only metrics recorder of the process")
    })
}

/// One served request. `route` is the matched pattern (`/api/v1/regions/{region}/projects`),
/// so that paths with ids do not make a series each.
pub fn record_request(method: &str, route: &str, status: u16, seconds: f64) {
    let labels = [
        ("method", method.to_string()),
        ("route", route.to_string()),
        ("status", status.to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(seconds);
}

/// One transition of a report (`submit`, `accept`, ...).
pub fn record_report_transition(transition: &'static str) {
    metrics::counter!("report_transitions_total", "transition" => transition).increment(1);
}

/// One stored submission and what it changed.
pub fn record_submission(outcome: &Outcome) {
    metrics::counter!("submissions_total").increment(1);
    for (kind, counts) in [
        ("project", outcome.projects),
        ("value", outcome.values),
        ("narrative", outcome.narratives),
    ] {
        for (change, count) in [
            ("created", counts.created),
            ("updated", counts.updated),
            ("unchanged", counts.unchanged),
        ] {
            metrics::counter!("submitted_items_total", "kind" => kind, "change" => change)
                .increment(count);
        }
    }
}

/// The pool's connections now, set when the metrics are read.
pub fn record_pool(connections: u32, idle: u32) {
    metrics::gauge!("db_pool_connections").set(f64::from(connections));
    metrics::gauge!("db_pool_idle_connections").set(f64::from(idle));
}

/// The bytes of the kept answers now (their JSON), set when the metrics are read.
pub fn record_kept_answers(bytes: u64) {
    metrics::gauge!("kept_answers_bytes").set(bytes as f64);
}

/// The computations given up by their clients before their answer was made, set when the
/// metrics are read.
pub fn record_computations_cancelled(count: u64) {
    metrics::counter!("computations_cancelled_total").absolute(count);
}

/// What the aggregate index holds now, set when the metrics are read: its bytes and values,
/// and `aggregate_index_over_cap` 1 when it passed its cap and SQL answers instead.
pub fn record_aggregate_index(status: crate::aggregate_index::Status) {
    metrics::gauge!("aggregate_index_bytes").set(status.bytes as f64);
    metrics::gauge!("aggregate_index_values").set(status.values as f64);
    metrics::gauge!("aggregate_index_over_cap").set(if status.over_cap { 1.0 } else { 0.0 });
}

/// One sign-in with the identity provider, refused sign-in or sign-out: `outcome` is
/// `signed_in`, `refused` or `signed_out`, `reason` why a sign-in was refused (or the role
/// signed in or out), from a fixed list, so that no claim's text becomes a label.
pub fn record_sign_in(outcome: &'static str, reason: &'static str) {
    metrics::counter!("sign_ins_total", "outcome" => outcome, "reason" => reason).increment(1);
}
