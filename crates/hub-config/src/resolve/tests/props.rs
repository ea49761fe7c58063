//! Properties over arbitrary text.

use proptest::prelude::*;

use super::*;

fn resolve_arg(text: &str) -> Result<String, Vec<ConfigError>> {
    let hub = env(&[("A", "alpha"), ("HOME", "/h"), ("MCP_HUB_ENV", r#"{"input:x": "i"}"#)]);
    let entry = crate::Server {
        name: "s".into(),
        kind: crate::ServerKind::Stdio {
            command: "x".into(),
            args: vec![text.to_owned()],
            env: vec![("E".into(), Some(text.to_owned())), ("A".into(), None)],
            cwd: Some(text.to_owned()),
            dev: None,
            sharing: crate::Sharing::Shared,
        },
        disabled: false,
        display_name: "s".into(),
        description: String::new(),
        config_source: "c.json".into(),
        hidden: crate::Hidden::default(),
        prefix: crate::Prefix::default(),
        raw: serde_json::Map::new(),
    };
    Resolver::new(&hub)
        .with_runner(&FakeRunner::default())
        .with_cwd(CWD)
        .stdio(&entry)
        .map(|r| r.args.into_iter().next().unwrap_or_default())
}

proptest! {
    #[test]
    fn never_panics(text in any::<String>()) {
        resolve_arg(&text).ok();
    }

    #[test]
    fn never_panics_on_placeholder_soup(text in "[${}:\\-?a-zA-Z_ /]{0,64}") {
        resolve_arg(&text).ok();
    }

    #[test]
    fn text_without_dollar_is_unchanged(text in "[^$\r\n]*") {
        prop_assert_eq!(resolve_arg(&text).unwrap(), text);
    }

    #[test]
    fn resolving_a_resolved_value_again_is_stable(text in "[^\r\n]*") {
        if let Ok(once) = resolve_arg(&text)
            && !once.contains('$')
        {
            prop_assert_eq!(resolve_arg(&once).unwrap(), once);
        }
    }
}
