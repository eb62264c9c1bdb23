//! Operational metrics in the Prometheus text format. One registry per server (a process can
//! run several: the tests do), served only on `KEYTURN_METRICS_BIND`, never on the public port.
//! Labels take a small fixed set of values (route templates, never paths or client ids), so the
//! number of series stays bounded whatever the traffic.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

/// Buckets for things that take microseconds to a second or so.
const FAST: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
/// Buckets for bcrypt, a quarter of a second at cost 12.
const BCRYPT: &[f64] = &[0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0];
const BATCH: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// `grant`: client_credentials, authorization_code, refresh_token, none, unsupported;
    /// `outcome`: issued or the OAuth error code.
    pub token_requests: IntCounterVec,
    /// `reason`: see `ClientRefusal` (never sent to the client).
    pub client_auth_failures: IntCounterVec,
    /// `result`: accepted, rejected.
    pub bcrypt_verifications: IntCounterVec,
    pub bcrypt_seconds: Histogram,
    /// `source`: memory (proven in this process), database (a stored proof).
    pub proven_secret_hits: IntCounterVec,
    /// `throttle`: the throttle's scope.
    pub throttled_requests: IntCounterVec,
    pub writer_batch_size: Histogram,
    pub writer_queue_depth: IntGauge,
    pub db_pool_wait_seconds: Histogram,
    /// `method`, `route` (the route's template), `status`.
    pub http_request_seconds: HistogramVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry =
            Registry::new_custom(Some("keyturn".into()), None).unwrap_or_else(|_| Registry::new());
        let counters = |name: &str, help: &str, labels: &[&str]| {
            let metric = IntCounterVec::new(Opts::new(name, help), labels)
                .unwrap_or_else(|e| unreachable!("{name}: {e}"));
            register(&registry, metric)
        };
        let histogram = |name: &str, help: &str, buckets: &[f64]| {
            let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
            let metric = Histogram::with_opts(opts).unwrap_or_else(|e| unreachable!("{name}: {e}"));
            register(&registry, metric)
        };
        let token_requests = counters(
            "token_requests_total",
            "Token endpoint requests by grant type and outcome (issued or the OAuth error).",
            &["grant", "outcome"],
        );
        let client_auth_failures = counters(
            "client_auth_failures_total",
            "Refused client authentications by reason.",
            &["reason"],
        );
        let bcrypt_verifications = counters(
            "bcrypt_verifications_total",
            "bcrypt verifications (passwords and client secrets) by result.",
            &["result"],
        );
        let bcrypt_seconds = histogram(
            "bcrypt_verification_seconds",
            "Time one bcrypt verification takes, queue wait excluded.",
            BCRYPT,
        );
        let proven_secret_hits = counters(
            "proven_secret_hits_total",
            "Client secrets accepted without bcrypt: proven in this process (memory) or by a stored proof (database).",
            &["source"],
        );
        let throttled_requests = counters(
            "throttled_requests_total",
            "Attempts refused because a throttle's allowance was used up, by throttle.",
            &["throttle"],
        );
        let writer_batch_size = histogram(
            "writer_batch_size",
            "Jobs committed together by the group-commit writer.",
            BATCH,
        );
        let writer_queue_depth = register(
            &registry,
            IntGauge::new(
                "writer_queue_depth",
                "Jobs waiting for the group-commit writer.",
            )
            .unwrap_or_else(|e| unreachable!("writer_queue_depth: {e}")),
        );
        let db_pool_wait_seconds = histogram(
            "db_pool_wait_seconds",
            "Time spent waiting for a pooled database connection.",
            FAST,
        );
        let http_request_seconds = register(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "http_request_duration_seconds",
                    "HTTP requests by method, route template and status.",
                )
                .buckets(FAST.to_vec()),
                &["method", "route", "status"],
            )
            .unwrap_or_else(|e| unreachable!("http_request_duration_seconds: {e}")),
        );
        Metrics {
            registry,
            token_requests,
            client_auth_failures,
            bcrypt_verifications,
            bcrypt_seconds,
            proven_secret_hits,
            throttled_requests,
            writer_batch_size,
            writer_queue_depth,
            db_pool_wait_seconds,
            http_request_seconds,
        }
    }

    /// The counter of refusals by one throttle.
    pub fn throttled(&self, scope: &str) -> IntCounter {
        self.throttled_requests.with_label_values(&[scope])
    }

    /// Every metric in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "encoding the metrics failed");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Registers `metric`. Only a name registered twice fails, which the list above never does.
fn register<M: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: M) -> M {
    if let Err(e) = registry.register(Box::new(metric.clone())) {
        tracing::error!(error = %e, "registering a metric failed");
    }
    metric
}
