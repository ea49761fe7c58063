//! The hub's live events: what `GET /api/events` streams, in mcp-hub's names and shapes, so
//! mcphub.nvim reads them unchanged.
//!
//! An [`EventBus`] is a broadcast channel that also remembers the hub's current state (a new
//! listener gets `hub_state` first). Events are sent as they happen, one SSE event each; the
//! mcp-hub fork's batching, which renames every event (`hub_state_batch`, …) and so breaks
//! mcphub.nvim, is not copied. The HTTP facade adds `timestamp` (and `hub_state`'s `server_id`,
//! `pid`, `port`) when it sends an event.
//!
//! Not built yet: `workspaces_updated` (the workspace cache).

use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Map, Value};
use tokio::sync::broadcast;

/// How many events a slow listener may fall behind before it misses some.
const CAPACITY: usize = 256;

/// An SSE event name of `/api/events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventName {
    /// The hub's lifecycle state (`starting`, `ready`, `stopping`, `stopped`, …).
    HubState,
    /// Sent by the facade every 10 s with the number of listeners.
    Heartbeat,
    /// One of the hub's own log lines (`type`, `message`, `data`).
    Log,
    /// A change listeners may want to react to; its `type` says which (see [`Subscription`]).
    SubscriptionEvent,
}

impl EventName {
    /// The SSE `event:` name.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventName::HubState => "hub_state",
            EventName::Heartbeat => "heartbeat",
            EventName::Log => "log",
            EventName::SubscriptionEvent => "subscription_event",
        }
    }
}

/// The `type` of a `subscription_event` (mcp-hub's `SubscriptionTypes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Subscription {
    /// A config file changed (`newConfig`, `isSignificant`).
    ConfigChanged,
    /// Servers are about to be started, stopped or restarted (`changes`).
    ServersUpdating,
    /// Servers were started, stopped, restarted, or changed state on their own (`changes`).
    ServersUpdated,
    /// A server's tools changed (`server`, `tools`).
    ToolListChanged,
    /// A server's resources or templates changed (`server`, `resources`, `resourceTemplates`).
    ResourceListChanged,
    /// A server's prompts changed (`server`, `prompts`).
    PromptListChanged,
}

impl Subscription {
    /// The value of `type`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Subscription::ConfigChanged => "config_changed",
            Subscription::ServersUpdating => "servers_updating",
            Subscription::ServersUpdated => "servers_updated",
            Subscription::ToolListChanged => "tool_list_changed",
            Subscription::ResourceListChanged => "resource_list_changed",
            Subscription::PromptListChanged => "prompt_list_changed",
        }
    }
}

/// One event: its SSE name and its payload (an object; `timestamp` is added when it is sent).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The SSE `event:` name.
    pub name: EventName,
    /// The `data:` object.
    pub data: Map<String, Value>,
}

/// Where the hub publishes its events and listeners subscribe. Cheap to clone; clones share
/// the bus.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
    /// The last `hub_state` payload.
    state: Arc<Mutex<Map<String, Value>>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// A bus in state `starting`.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(CAPACITY);
        let mut state = Map::new();
        state.insert("state".to_owned(), Value::String("starting".to_owned()));
        EventBus { tx, state: Arc::new(Mutex::new(state)) }
    }

    /// Records the hub's state and tells every listener.
    pub fn hub_state(&self, state: &str) {
        let mut data = Map::new();
        data.insert("state".to_owned(), Value::String(state.to_owned()));
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = data.clone();
        self.publish(Event { name: EventName::HubState, data });
    }

    /// The `hub_state` event a new listener gets first.
    pub fn current_state(&self) -> Event {
        let data = self.state.lock().unwrap_or_else(PoisonError::into_inner).clone();
        Event { name: EventName::HubState, data }
    }

    /// Publishes a `subscription_event` of type `kind` with `fields` (an object; anything else
    /// is sent as `{"data": fields}`).
    pub fn subscription(&self, kind: Subscription, fields: Value) {
        let mut data = Map::new();
        data.insert("type".to_owned(), Value::String(kind.as_str().to_owned()));
        match fields {
            Value::Object(fields) => data.extend(fields),
            Value::Null => {}
            other => {
                data.insert("data".to_owned(), other);
            }
        }
        self.publish(Event { name: EventName::SubscriptionEvent, data });
    }

    /// Publishes one of the hub's log lines as mcp-hub does: `type` (`debug`, `info`, `warn`,
    /// `error`), `message`, and `data` (the line's other fields). Skipped at once when nobody
    /// listens.
    pub fn log(&self, kind: &str, message: String, data: Map<String, Value>) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        let mut payload = Map::new();
        payload.insert("type".to_owned(), Value::String(kind.to_owned()));
        payload.insert("message".to_owned(), Value::String(message));
        payload.insert("data".to_owned(), Value::Object(data));
        self.publish(Event { name: EventName::Log, data: payload });
    }

    /// Sends an event to every listener (none listening is fine).
    pub fn publish(&self, event: Event) {
        // An error only means that nobody listens.
        self.tx.send(event).ok();
    }

    /// A new listener. It sees events published from now on; [`EventBus::current_state`]
    /// says where the hub stands.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn listeners_get_what_is_published_after_they_subscribe() {
        let bus = EventBus::new();
        assert_eq!(bus.current_state().data["state"], "starting");
        bus.subscription(Subscription::ServersUpdated, json!({"changes": {"modified": ["a"]}}));
        let mut rx = bus.subscribe();
        bus.hub_state("ready");
        bus.subscription(Subscription::ToolListChanged, json!({"server": "a", "tools": []}));
        let first = rx.recv().await.unwrap();
        assert_eq!((first.name.as_str(), &first.data["state"]), ("hub_state", &json!("ready")));
        let second = rx.recv().await.unwrap();
        assert_eq!(second.name, EventName::SubscriptionEvent);
        assert_eq!(
            Value::Object(second.data),
            json!({"type": "tool_list_changed", "server": "a", "tools": []})
        );
        assert!(rx.try_recv().is_err(), "the event before subscribing is not replayed");
        assert_eq!(bus.current_state().data["state"], "ready", "a new listener starts here");
    }
}
