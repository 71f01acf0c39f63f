//! Error tracking: every ERROR-level event of `vivr serve` (a 5xx answer, a panic the server caught, a failed
//! background job) becomes an event at the Sentry-compatible endpoint `SENTRY_DSN` names, with the request's id,
//! method and route as tags, the release and the environment, and secrets and personal data scrubbed from every
//! text it carries. Off when `SENTRY_DSN` is unset: the layer is then not installed at all.
//!
//! A tracing layer of our own rather than sentry's: it reads the fields of the enclosing `request` span (sentry's
//! layer sends only the event's own), and it is the one place every report passes through to be scrubbed.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, LazyLock};

use regex::Regex;
use sentry::protocol::{Event, Level, Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Subscriber, span};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// What error tracking needs from the environment.
#[derive(Clone)]
pub struct ErrorTracking {
    pub dsn: sentry::types::Dsn,
    pub release: String,
    pub environment: String,
    /// Values never to send (the configuration's secrets), replaced wherever they appear.
    pub secrets: Vec<String>,
}

impl fmt::Debug for ErrorTracking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorTracking")
            .field("host", &self.dsn.host())
            .field("release", &self.release)
            .field("environment", &self.environment)
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

/// Starts the client; reports are sent from its own thread, and what is queued is flushed when the guard drops.
pub fn start(config: &ErrorTracking) -> sentry::ClientInitGuard {
    let scrubber = Arc::new(Scrubber::new(config.secrets.clone()));
    sentry::init(sentry::ClientOptions {
        dsn: Some(config.dsn.clone()),
        release: Some(Cow::Owned(config.release.clone())),
        environment: Some(Cow::Owned(config.environment.clone())),
        send_default_pii: false,
        default_integrations: false,
        before_send: Some(Arc::new(move |event| Some(scrubber.event(event)))),
        ..sentry::ClientOptions::default()
    })
}

/// Turns ERROR events into error reports.
pub struct ErrorReports;

/// The fields of a `request` span the reports carry.
#[derive(Default, Debug, Clone)]
struct RequestFields(Map<String, String>);

const REQUEST_TAGS: [&str; 3] = ["request_id", "method", "route"];

impl Visit for RequestFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if REQUEST_TAGS.contains(&field.name()) {
            self.0
                .insert(field.name().to_string(), format!("{value:?}"));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if REQUEST_TAGS.contains(&field.name()) {
            self.0.insert(field.name().to_string(), value.to_string());
        }
    }
}

/// An event's message and its other fields.
#[derive(Default)]
struct EventFields {
    message: Option<String>,
    extra: Map<String, Value>,
}

impl Visit for EventFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_string());
        } else {
            self.extra
                .insert(field.name().to_string(), Value::from(value));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.extra.insert(field.name().to_string(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.extra.insert(field.name().to_string(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.extra.insert(field.name().to_string(), value.into());
    }
}

impl<S> Layer<S> for ErrorReports
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "request" {
            return;
        }
        let mut fields = RequestFields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &span::Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<RequestFields>()
        {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let metadata = event.metadata();
        // tower-http's "response failed" repeats, without its cause, a 5xx the shop has already reported.
        if *metadata.level() != tracing::Level::ERROR || metadata.target().starts_with("tower_http")
        {
            return;
        }
        let mut fields = EventFields::default();
        event.record(&mut fields);
        let mut tags = Map::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                if let Some(request) = span.extensions().get::<RequestFields>() {
                    tags.extend(request.0.clone());
                    break;
                }
            }
        }
        sentry::capture_event(Event {
            level: Level::Error,
            logger: Some(metadata.target().to_string()),
            message: fields.message,
            culprit: tags.get("route").cloned(),
            transaction: tags.get("route").cloned(),
            tags,
            extra: fields.extra,
            ..Event::default()
        });
    }
}

/// Removes secrets and personal data from what a report carries.
pub struct Scrubber {
    secrets: Vec<String>,
}

const REDACTED: &str = "[redacted]";

/// Credentials in a URL, API keys and tokens by their well-known shapes, and email addresses.
static PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (
            r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@",
            "${1}[redacted]@",
        ),
        (r"\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]+", REDACTED),
        (r"\bwhsec_[0-9A-Za-z+/=]+", REDACTED),
        (
            r"(?i)\b(bearer|basic)\s+[0-9A-Za-z._~+/=-]+",
            "${1} [redacted]",
        ),
        (r"\bAKIA[0-9A-Z]{16}\b", REDACTED),
        (
            r"[0-9A-Za-z._%+-]+@[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*\.[A-Za-z]{2,}",
            "[email]",
        ),
    ]
    .into_iter()
    .filter_map(|(pattern, replacement)| Regex::new(pattern).ok().map(|r| (r, replacement)))
    .collect()
});

impl Scrubber {
    /// `secrets`: exact values to remove (shorter than 8 characters are ignored: they would match anywhere).
    pub fn new(mut secrets: Vec<String>) -> Scrubber {
        secrets.retain(|s| s.len() >= 8);
        // The longest first: a secret that contains another is removed whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Scrubber { secrets }
    }

    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        for (pattern, replacement) in PATTERNS.iter() {
            if let Cow::Owned(replaced) = pattern.replace_all(&out, *replacement) {
                out = replaced;
            }
        }
        out
    }

    fn value(&self, value: Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(&s)),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.value(v)).collect()),
            Value::Object(map) => {
                Value::Object(map.into_iter().map(|(k, v)| (k, self.value(v))).collect())
            }
            other => other,
        }
    }

    /// Every text of an event: its message, culprit, tags, extra data and exceptions. No user, no request body.
    pub fn event(&self, mut event: Event<'static>) -> Event<'static> {
        let scrub = |s: Option<String>| s.map(|s| self.text(&s));
        event.message = scrub(event.message.take());
        event.culprit = scrub(event.culprit.take());
        event.transaction = scrub(event.transaction.take());
        event.tags = std::mem::take(&mut event.tags)
            .into_iter()
            .map(|(k, v)| (k, self.text(&v)))
            .collect();
        event.extra = std::mem::take(&mut event.extra)
            .into_iter()
            .map(|(k, v)| (k, self.value(v)))
            .collect();
        for exception in &mut event.exception.values {
            exception.value = scrub(exception.value.take());
        }
        event.user = None;
        event.request = None;
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_credentials_keys_and_addresses_are_scrubbed() {
        let scrubber = Scrubber::new(vec![
            "k9Qv2Lr8Zp4Xw7Nc3Tb6Hy1Fs5Jd0GmE4u".into(), // audit:allow-secret
            "short".into(),
        ]);
        const STRIPE_KEY: &str = "sk_live_51Hx7Yq2LkPz9Rt4Vb"; // audit:allow-secret
        let text = format!(
            "signing with k9Qv2Lr8Zp4Xw7Nc3Tb6Hy1Fs5Jd0GmE4u failed for marie.dupont@example.fr: connecting to \
             postgres://vivr:Mx4kP9qL2w@db.internal:5432/vivr with {STRIPE_KEY} and whsec_Ab12Cd34Ef56Gh78 \
             (Authorization: Bearer eyJhbGciOi.payload.sig); short stays"
        );
        let scrubbed = scrubber.text(&text);
        for leaked in [
            "k9Qv2Lr8Zp4Xw7Nc3Tb6Hy1Fs5Jd0GmE4u",
            "marie.dupont",
            "Mx4kP9qL2w",
            STRIPE_KEY,
            "whsec_Ab12Cd34Ef56Gh78",
            "eyJhbGciOi",
        ] {
            assert!(!scrubbed.contains(leaked), "{leaked} in {scrubbed}");
        }
        assert!(
            scrubbed.contains("postgres://[redacted]@db.internal:5432/vivr"),
            "{scrubbed}"
        );
        assert!(scrubbed.contains("failed for [email]"), "{scrubbed}");
        assert!(scrubbed.contains("short stays"), "{scrubbed}");
    }

    #[test]
    fn every_text_of_an_event_is_scrubbed_and_the_user_dropped() {
        let scrubber = Scrubber::new(vec!["a-very-secret-value".into()]);
        let mut event = Event {
            message: Some("boom a-very-secret-value".into()),
            user: Some(sentry::User {
                email: Some("marie@example.fr".into()),
                ..Default::default()
            }),
            ..Event::default()
        };
        event
            .tags
            .insert("route".into(), "/compte/a-very-secret-value".into());
        event.extra.insert(
            "error".into(),
            serde_json::json!({"detail": ["to marie@example.fr", 3]}),
        );
        let event = scrubber.event(event);
        let json = serde_json::to_string(&event).unwrap();
        assert!(
            !json.contains("a-very-secret-value") && !json.contains("marie"),
            "{json}"
        );
        assert!(event.user.is_none());
        assert_eq!(event.extra["error"]["detail"][1], 3);
    }
}
