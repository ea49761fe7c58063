use super::*;

const TEXT: &str = r#"{
  // comment
  mcpServers: {
    'my.server': {
      command: "x",
      args: ["a", 3],
      env: { TOKEN: 1, },
    },
  },
  "hub": { "http": { "allowedOrigins": ["a", 3] } },
}"#;

#[test]
fn follows_keys_indices_and_dotted_names() {
    assert_eq!(locate(TEXT, "mcpServers.my.server"), Some((4, 5)));
    assert_eq!(locate(TEXT, "mcpServers.my.server.command"), Some((5, 7)));
    assert_eq!(locate(TEXT, "mcpServers.my.server.args[1]"), Some((6, 19)));
    assert_eq!(locate(TEXT, "mcpServers.my.server.env.TOKEN"), Some((7, 14)));
    assert_eq!(locate(TEXT, "hub.http.allowedOrigins.1"), Some((10, 46)));
}

#[test]
fn a_missing_key_points_at_the_deepest_one_found() {
    assert_eq!(locate(TEXT, "mcpServers.my.server.cwd"), Some((4, 5)));
    assert_eq!(locate(TEXT, "mcpServers.nope"), Some((3, 3)));
    assert_eq!(locate(TEXT, "nothing.here"), None);
}

#[test]
fn vscode_files_are_searched_under_servers() {
    let text = "{\n \"servers\": {\n  \"s\": {\"command\": 1}\n }\n}";
    assert_eq!(locate(text, "mcpServers.s.command"), Some((3, 9)));
}

#[test]
fn text_that_does_not_parse_has_no_positions() {
    assert_eq!(locate("{ mcpServers: ", "mcpServers"), None);
    assert_eq!(locate("[1]", "mcpServers"), None);
}

#[test]
fn columns_count_characters_not_bytes() {
    let text = "{\"mcpServers\": {\"é\": {\"command\": 1}}}";
    assert_eq!(locate(text, "mcpServers.é.command"), Some((1, 23)));
}
