//! The hub's own log lines as `log` events of `/api/events` (mcphub.nvim shows them): a
//! `tracing` layer that publishes every event the log filter lets through, once the hub's event
//! bus exists (lines before that go to stderr only).

use std::sync::{Arc, OnceLock};

use hub_events::EventBus;
use serde_json::{Map, Value};
use tracing::{
    Event, Level, Subscriber,
    field::{Field, Visit},
};
use tracing_subscriber::layer::{Context, Layer};

/// The layer; [`LogEvents::connect`] points it at the hub's bus.
#[derive(Debug, Clone, Default)]
pub(crate) struct LogEvents {
    bus: Arc<OnceLock<EventBus>>,
}

impl LogEvents {
    /// From now on, log lines are published on `bus` too.
    pub(crate) fn connect(&self, bus: EventBus) {
        if self.bus.set(bus).is_err() {
            tracing::debug!("log events already connected");
        }
    }
}

impl<S: Subscriber> Layer<S> for LogEvents {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let Some(bus) = self.bus.get() else { return };
        let kind = match *event.metadata().level() {
            Level::ERROR => "error",
            Level::WARN => "warn",
            Level::INFO => "info",
            Level::DEBUG | Level::TRACE => "debug",
        };
        let mut fields = Fields::default();
        event.record(&mut fields);
        bus.log(kind, fields.message, fields.data);
    }
}

/// An event's `message` and its other fields.
#[derive(Default)]
struct Fields {
    message: String,
    data: Map<String, Value>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
        } else {
            self.data.insert(field.name().to_owned(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use hub_events::EventName;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    #[test]
    fn log_lines_become_log_events_once_connected() {
        let layer = LogEvents::default();
        let subscriber = tracing_subscriber::registry().with(layer.clone());
        let bus = EventBus::new();
        let mut rx = bus.subscribe();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(server = "a", attempt = 2, "before the bus");
            layer.connect(bus.clone());
            tracing::warn!(server = "a", attempt = 3, "server down; restarting");
        });
        let event = rx.try_recv().expect("one log event");
        assert_eq!(event.name, EventName::Log);
        assert_eq!(event.data["type"], "warn");
        assert_eq!(event.data["message"], "server down; restarting");
        assert_eq!(event.data["data"], serde_json::json!({"server": "a", "attempt": 3}));
        assert!(rx.try_recv().is_err(), "lines before the bus existed are not replayed");
    }
}
