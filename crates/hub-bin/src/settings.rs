//! The config file's `hub` section applied to the crates' settings.

use hub_config::{DurationValue, HubSettings};

/// hub-core's settings: the defaults, overridden by what the section sets.
pub(crate) fn core(s: &HubSettings, cwd: Option<String>) -> hub_core::Settings {
    let mut out = hub_core::Settings { cwd, ..hub_core::Settings::default() };
    set(&mut out.connect_timeout, s.timeouts.connect);
    set(&mut out.request_timeout, s.timeouts.request);
    set(&mut out.list_timeout, s.timeouts.list);
    set(&mut out.stdio.shutdown_grace, s.stdio.shutdown_grace);
    if let Some(n) = s.stdio.max_line_bytes {
        out.stdio.max_line_bytes = usize::try_from(n).unwrap_or(usize::MAX);
    }
    out
}

/// hub-http's settings, before the command line's host and port are applied.
pub(crate) fn http(s: &HubSettings) -> hub_http::Settings {
    let mut out = hub_http::Settings::default();
    if let Some(hosts) = &s.http.allowed_hosts {
        out.allowed_hosts.clone_from(hosts);
    }
    if let Some(origins) = &s.http.allowed_origins {
        out.allowed_origins.clone_from(origins);
    }
    if let Some(n) = s.http.max_body_bytes {
        out.max_body_bytes = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(n) = s.http.max_sessions {
        out.max_sessions = usize::try_from(n).unwrap_or(usize::MAX);
    }
    set(&mut out.session_idle_timeout, s.http.session_idle_timeout);
    out
}

fn set(target: &mut std::time::Duration, value: Option<DurationValue>) {
    if let Some(DurationValue(d)) = value {
        *target = d;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hub_config::Source;

    use super::*;

    fn settings(text: &str) -> HubSettings {
        let c = hub_config::load(&[Source { path: "c.json".into(), text: text.into() }]).unwrap();
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        c.settings
    }

    #[test]
    fn unset_keys_keep_the_defaults() {
        let s = settings(r#"{"mcpServers": {}}"#);
        let c = core(&s, None);
        let d = hub_core::Settings::default();
        assert_eq!((c.connect_timeout, c.request_timeout), (d.connect_timeout, d.request_timeout));
        let h = http(&s);
        assert_eq!(h.allowed_hosts, hub_http::Settings::default().allowed_hosts);
    }

    /// The defaults the JSON Schema documents are the ones the hub really uses: read every
    /// `default` from the schema, apply it as if configured, and compare with the built-in
    /// settings.
    #[test]
    fn the_schema_documents_the_real_defaults() {
        let schema = hub_config::config_schema();
        let defs = &schema["definitions"];
        let mut section = serde_json::Map::new();
        let mut seen = 0;
        for (key, def) in [
            ("timeouts", "Timeouts"),
            ("http", "HttpSettings"),
            ("stdio", "StdioSettings"),
            ("watch", "WatchSettings"),
        ] {
            let props = defs[def]["properties"].as_object().expect(def);
            let values: serde_json::Map<_, _> = props
                .iter()
                .map(|(k, p)| {
                    let d = p.get("default").unwrap_or_else(|| panic!("{def}.{k} has no default"));
                    seen += 1;
                    (k.clone(), d.clone())
                })
                .collect();
            section.insert(key.to_owned(), values.into());
        }
        assert_eq!(seen, 11, "every setting documents its default");
        let text = serde_json::json!({"mcpServers": {}, "hub": section}).to_string();
        let s = settings(&text);
        let (c, d) = (core(&s, None), hub_core::Settings::default());
        assert_eq!(
            (c.connect_timeout, c.request_timeout, c.list_timeout),
            (d.connect_timeout, d.request_timeout, d.list_timeout)
        );
        assert_eq!(
            (c.stdio.max_line_bytes, c.stdio.shutdown_grace),
            (d.stdio.max_line_bytes, d.stdio.shutdown_grace)
        );
        let (h, d) = (http(&s), hub_http::Settings::default());
        assert_eq!((h.allowed_hosts, h.allowed_origins), (d.allowed_hosts, d.allowed_origins));
        assert_eq!((h.max_body_bytes, h.max_sessions), (d.max_body_bytes, d.max_sessions));
        assert_eq!(h.session_idle_timeout, d.session_idle_timeout);
        assert_eq!(s.watch.debounce.map(|d| d.0), Some(crate::watch::DEFAULT_DEBOUNCE));
    }

    #[test]
    fn each_key_reaches_its_setting() {
        let s = settings(
            r#"{"mcpServers": {}, "hub": {
                "timeouts": {"connect": "7s", "request": 8000, "list": "9s"},
                "stdio": {"maxLineBytes": 2048, "shutdownGrace": "1s"},
                "http": {"allowedHosts": [], "allowedOrigins": ["https://a"], "maxBodyBytes": 4096,
                         "maxSessions": 3, "sessionIdleTimeout": "2m"}}}"#,
        );
        let c = core(&s, Some("/w".into()));
        assert_eq!(c.connect_timeout, Duration::from_secs(7));
        assert_eq!(c.request_timeout, Duration::from_secs(8));
        assert_eq!(c.list_timeout, Duration::from_secs(9));
        assert_eq!(c.stdio.max_line_bytes, 2048);
        assert_eq!(c.stdio.shutdown_grace, Duration::from_secs(1));
        assert_eq!(c.cwd.as_deref(), Some("/w"));
        let h = http(&s);
        assert!(h.allowed_hosts.is_empty());
        assert_eq!(h.allowed_origins, ["https://a"]);
        assert_eq!((h.max_body_bytes, h.max_sessions), (4096, 3));
        assert_eq!(h.session_idle_timeout, Duration::from_secs(120));
    }
}
