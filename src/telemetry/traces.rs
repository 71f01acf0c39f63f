//! Traces: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, every request `vivr serve` answers becomes an OpenTelemetry
//! span (`GET /produits/{slug}`, with its route, status and request id), and every database statement it ran a
//! child span (`SELECT "Product"`, its duration and rows), exported in batches over OTLP/HTTP (protobuf) by the
//! SDK. The exporter reads the standard variables itself (`OTEL_EXPORTER_OTLP_ENDPOINT`, `…_TRACES_ENDPOINT`,
//! `…_HEADERS`, `…_TIMEOUT`). Off when unset: no layer is installed, no statement event is even built.
//!
//! One layer, `Spans`, makes both from what the server already traces: the shop's `request` span (its fields,
//! recorded as the request goes: the matched route, the status) becomes the server span when it closes, named
//! `METHOD route` as OpenTelemetry's conventions ask (tracing-opentelemetry fixes a span's name when it is first
//! entered, before the router has matched); sqlx times each statement and reports it when it finishes (the
//! `sqlx::query` event, with no parameter values), which becomes a client span that started `elapsed` before,
//! under its request. Span ids are chosen when the request starts, so the statements can name their parent.

use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState,
    Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context as OtelContext, KeyValue};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SdkTracer, SdkTracerProvider};
use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// What tracing needs from the environment.
#[derive(Debug, Clone)]
pub struct Tracing {
    pub release: String,
    pub environment: String,
    /// `postgresql` or `sqlite`, from DATABASE_URL.
    pub db_system: Option<&'static str>,
}

/// Starts the batch exporter (its own thread; spans are queued, never sent from a request).
pub fn start(config: &Tracing) -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|e| anyhow::anyhow!("OTEL_EXPORTER_OTLP_ENDPOINT: {e}"))?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("vivr")
        .with_attributes([
            KeyValue::new("service.version", config.release.clone()),
            KeyValue::new("deployment.environment.name", config.environment.clone()),
        ])
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// The layer, seeing spans and statement events (a per-layer filter). It records only requests, but it must see
/// every span: a statement runs inside the store's own spans, and with those filtered out of this layer the
/// statement no longer found its request (`telemetry::requests_and_their_statements_are_exported_as_spans_over_otlp`
/// caught it when the store methods got their spans).
pub fn layer<S>(provider: &SdkTracerProvider, config: &Tracing) -> impl Layer<S> + use<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    Spans {
        tracer: provider.tracer("vivr"),
        ids: RandomIdGenerator::default(),
        system: config.db_system,
    }
    .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
        meta.is_span() || (meta.is_event() && meta.target() == "sqlx::query")
    }))
}

/// Requests as server spans, database statements as their children.
pub struct Spans {
    tracer: SdkTracer,
    ids: RandomIdGenerator,
    system: Option<&'static str>,
}

/// A request being traced: its ids, its start and its fields so far.
struct RequestTrace {
    trace_id: TraceId,
    span_id: SpanId,
    start: SystemTime,
    method: String,
    route: Option<String>,
    attributes: Vec<KeyValue>,
}

impl Visit for RequestTrace {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "method" => self.method = value.to_string(),
            "route" => self.route = Some(value.to_string()),
            name if name.starts_with("otel.") => {}
            "path" => self
                .attributes
                .push(KeyValue::new("url.path", value.to_string())),
            name => self.attributes.push(KeyValue::new(name, value.to_string())),
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.attributes.push(KeyValue::new(
            field.name(),
            i64::try_from(value).unwrap_or(i64::MAX),
        ));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.attributes.push(KeyValue::new(field.name(), value));
    }
}

#[derive(Default)]
struct Statement {
    summary: Option<String>,
    rows_returned: Option<i64>,
    rows_affected: Option<i64>,
    elapsed_secs: Option<f64>,
}

impl Visit for Statement {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        match field.name() {
            "summary" => self.summary = Some(text),
            "rows_returned" => self.rows_returned = text.parse().ok(),
            "rows_affected" => self.rows_affected = text.parse().ok(),
            "elapsed_secs" => self.elapsed_secs = text.parse().ok(),
            _ => {}
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "summary" {
            self.summary = Some(value.to_string());
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        let value = i64::try_from(value).unwrap_or(i64::MAX);
        match field.name() {
            "rows_returned" => self.rows_returned = Some(value),
            "rows_affected" => self.rows_affected = Some(value),
            _ => {}
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.elapsed_secs = Some(value);
        }
    }
}

impl<S> Layer<S> for Spans
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "request" {
            return;
        }
        let mut trace = RequestTrace {
            trace_id: self.ids.new_trace_id(),
            span_id: self.ids.new_span_id(),
            start: SystemTime::now(),
            method: String::new(),
            route: None,
            attributes: Vec::new(),
        };
        attrs.record(&mut trace);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(trace);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(trace) = span.extensions_mut().get_mut::<RequestTrace>()
        {
            values.record(trace);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(trace) = span.extensions_mut().remove::<RequestTrace>() else {
            return;
        };
        let name = match &trace.route {
            Some(route) => format!("{} {route}", trace.method),
            None => trace.method.clone(),
        };
        let mut attributes = trace.attributes;
        attributes.push(KeyValue::new("http.request.method", trace.method));
        if let Some(route) = trace.route {
            attributes.push(KeyValue::new("http.route", route));
        }
        let mut builder = self
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Server)
            .with_start_time(trace.start)
            .with_attributes(attributes);
        builder.trace_id = Some(trace.trace_id);
        builder.span_id = Some(trace.span_id);
        let mut server = self.tracer.build_with_context(builder, &OtelContext::new());
        server.end();
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        // Only statements a traced request ran: the pool's own housekeeping has no request to belong to.
        let Some(parent) = ctx.event_scope(event).and_then(|scope| {
            scope.into_iter().find_map(|span| {
                let extensions = span.extensions();
                let trace = extensions.get::<RequestTrace>()?;
                Some(SpanContext::new(
                    trace.trace_id,
                    trace.span_id,
                    TraceFlags::SAMPLED,
                    false,
                    TraceState::default(),
                ))
            })
        }) else {
            return;
        };
        let mut statement = Statement::default();
        event.record(&mut statement);
        let end = SystemTime::now();
        let elapsed =
            Duration::try_from_secs_f64(statement.elapsed_secs.unwrap_or(0.0)).unwrap_or_default();
        let summary = statement.summary.unwrap_or_else(|| "statement".into());
        let mut attributes = vec![KeyValue::new("db.query.summary", summary.clone())];
        if let Some(system) = self.system {
            attributes.push(KeyValue::new("db.system.name", system));
        }
        if let Some(rows) = statement.rows_returned {
            attributes.push(KeyValue::new("db.response.returned_rows", rows));
        }
        if let Some(rows) = statement.rows_affected {
            attributes.push(KeyValue::new("db.response.affected_rows", rows));
        }
        let builder = self
            .tracer
            .span_builder(summary)
            .with_kind(SpanKind::Client)
            .with_start_time(end.checked_sub(elapsed).unwrap_or(end))
            .with_attributes(attributes);
        let parent = OtelContext::new().with_remote_span_context(parent);
        let mut span = self.tracer.build_with_context(builder, &parent);
        span.end_with_timestamp(end);
    }
}
