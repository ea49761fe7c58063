//! The conformance fixture (`mcp-conformance-fixture`) over stdio, as a real child process driven
//! line by line: what the suite's server scenarios rely on, checked on the wire.

use std::{process::Stdio, time::Duration};

use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines},
    process::{Child, ChildStdin, ChildStdout},
};

use crate::support::bounded;

const FIXTURE: &str = env!("CARGO_BIN_EXE_mcp-conformance-fixture");

/// The tools the suite's server scenarios call, then the two of the hub's own tests.
const TOOLS: [&str; 16] = [
    "test_simple_text",
    "test_image_content",
    "test_audio_content",
    "test_embedded_resource",
    "test_multiple_content_types",
    "test_tool_with_logging",
    "test_tool_with_progress",
    "test_error_handling",
    "test_sampling",
    "test_elicitation",
    "test_elicitation_sep1034_defaults",
    "test_elicitation_sep1330_enums",
    "json_schema_2020_12_tool",
    "test_reconnection",
    "test_roots",
    "test_update_watched",
];

/// How long one message from the fixture may take.
const READ_LIMIT: Duration = Duration::from_secs(10);

/// The fixture as a child process; killed on drop unless [`Fixture::close`] saw it exit.
struct Fixture {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Fixture {
    fn spawn() -> Fixture {
        let mut child = tokio::process::Command::new(FIXTURE)
            .env("RUST_LOG", "debug")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the fixture starts");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        Fixture { child, stdin, stdout }
    }

    async fn send(&mut self, message: Value) {
        let mut line = serde_json::to_vec(&message).unwrap();
        line.push(b'\n');
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(&line).await.unwrap();
        stdin.flush().await.unwrap();
    }

    /// The next message from the fixture.
    async fn recv(&mut self) -> Value {
        let line = tokio::time::timeout(READ_LIMIT, self.stdout.next_line())
            .await
            .expect("the fixture answers in time")
            .unwrap()
            .expect("the fixture's stdout is open");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// Sends a request and returns its result; nothing else may arrive first.
    async fn ok(&mut self, id: i64, method: &str, params: Value) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await;
        let answer = self.recv().await;
        assert_eq!(answer["id"], id, "{method}: {answer}");
        assert!(answer.get("error").is_none(), "{method} failed: {answer}");
        answer["result"].clone()
    }

    /// Closes stdin and waits (bounded) for a clean exit.
    async fn close(mut self) {
        drop(self.stdin.take());
        let status = tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .expect("the fixture exits when stdin closes")
            .unwrap();
        assert!(status.success(), "{status}");
    }
}

#[tokio::test]
async fn fixture_over_stdio_serves_what_the_suite_calls() {
    bounded(async {
        let mut f = Fixture::spawn();
        let init = f
            .ok(
                1,
                "initialize",
                json!({"protocolVersion": "2025-11-25", "capabilities": {"sampling": {}},
                       "clientInfo": {"name": "hub-it", "version": "0"}}),
            )
            .await;
        assert_eq!(init["protocolVersion"], "2025-11-25");
        assert_eq!(
            init["capabilities"],
            json!({
                "tools": {"listChanged": true},
                "resources": {"subscribe": true, "listChanged": true},
                "prompts": {"listChanged": true},
                "logging": {},
                "completions": {},
            })
        );
        f.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;

        let tools = f.ok(2, "tools/list", json!({})).await;
        let names: Vec<&str> = tools["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, TOOLS);

        // Progress: three notifications with the caller's token, then the response.
        f.send(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "test_tool_with_progress", "_meta": {"progressToken": "tok-1"}}}))
            .await;
        for expected in [0, 50, 100] {
            let n = f.recv().await;
            assert_eq!(n["method"], "notifications/progress", "{n}");
            assert_eq!(
                n["params"],
                json!({"progressToken": "tok-1", "progress": expected, "total": 100})
            );
        }
        let done = f.recv().await;
        assert_eq!(done["id"], 3, "the response comes after the progress: {done}");
        assert!(done["result"]["content"][0]["text"].is_string(), "{done}");

        // Sampling: the fixture asks, the test answers as the client's LLM.
        f.send(json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {
            "name": "test_sampling", "arguments": {"prompt": "What is 2+2?"}}}))
            .await;
        let ask = f.recv().await;
        assert_eq!(ask["method"], "sampling/createMessage", "{ask}");
        assert_eq!(ask["params"]["messages"][0]["content"]["text"], "What is 2+2?");
        assert_eq!(ask["params"]["maxTokens"], 100);
        f.send(json!({"jsonrpc": "2.0", "id": ask["id"], "result": {
            "role": "assistant", "model": "hub-it",
            "content": {"type": "text", "text": "four, says the test"}}}))
            .await;
        let answer = f.recv().await;
        assert_eq!(answer["id"], 4, "{answer}");
        assert_eq!(answer["result"]["content"][0]["text"], "LLM response: four, says the test");
        assert!(answer["result"].get("isError").is_none(), "{answer}");

        let read = f.ok(5, "resources/read", json!({"uri": "test://static-binary"})).await;
        let content = &read["contents"][0];
        assert_eq!(content["uri"], "test://static-binary");
        assert_eq!(content["mimeType"], "image/png");
        assert!(
            content["blob"].as_str().is_some_and(|b| b.starts_with("iVBORw0KGgo")),
            "a base64 PNG: {read}"
        );
        assert!(content.get("text").is_none(), "{read}");

        f.close().await;
    })
    .await;
}
