//! The bundled demo MCP server (`mcp-hub demo-server`): a few useful tools, a resource, a
//! resource template and a prompt over stdio, so the hub can be tried with no Node or Python.
//! It also serves the end-to-end tests: `--page-size` paginates every list, `--test-tools` adds
//! tools that misbehave on purpose.

use std::{
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, SystemTime},
};

use hub_protocol::{
    ErrorObject, Id, Message, ProtocolVersion, Request, Response,
    jsonrpc::{self, INVALID_PARAMS, METHOD_NOT_FOUND},
    mcp::{CancelledParams, ListKind, ListPage, PaginatedParams, method},
};
use serde_json::{Map, Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    sync::mpsc,
};

struct Demo {
    page_size: usize,
    test_tools: bool,
    /// Toggled by the `toggle_bonus_tool` tool; shows `notifications/tools/list_changed`.
    bonus: AtomicBool,
    /// Set by the `hang` tool: every later request is ignored (a server that stopped answering).
    hung: AtomicBool,
    /// Requests being answered, so that `notifications/cancelled` can stop them.
    running: std::sync::Mutex<std::collections::HashMap<Id, tokio::task::AbortHandle>>,
    /// How many requests `notifications/cancelled` stopped (the `cancellations` test tool).
    cancelled: std::sync::atomic::AtomicUsize,
    out: mpsc::UnboundedSender<Vec<u8>>,
}

/// Runs the demo server until stdin closes.
#[allow(clippy::print_stderr)] // stderr is the log channel of a stdio MCP server
pub(crate) fn main(page_size: usize, test_tools: bool) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("demo-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(serve(page_size, test_tools));
    ExitCode::SUCCESS
}

async fn serve(page_size: usize, test_tools: bool) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(mut line) = rx.recv().await {
            line.push(b'\n');
            if stdout.write_all(&line).await.is_err() || stdout.flush().await.is_err() {
                break;
            }
        }
    });
    let demo = Arc::new(Demo {
        page_size,
        test_tools,
        bonus: AtomicBool::new(false),
        hung: AtomicBool::new(false),
        running: std::sync::Mutex::default(),
        cancelled: std::sync::atomic::AtomicUsize::new(0),
        out: tx,
    });
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        match jsonrpc::decode(line.as_bytes()) {
            Ok(Message::Request(_)) if demo.hung.load(Ordering::SeqCst) => {}
            Ok(Message::Request(req)) => {
                let id = req.id.clone();
                let d = demo.clone();
                // Held while spawning, so the task cannot remove its entry before it exists.
                let mut running = demo.running();
                let task = tokio::spawn(async move {
                    let resp = d.handle(&req).await;
                    d.running().remove(&req.id);
                    d.send(&Message::Response(resp));
                });
                running.insert(id, task.abort_handle());
            }
            Ok(Message::Notification(n)) if n.method == hub_protocol::mcp::method::CANCELLED => {
                // A cancelled request gets no response (MCP's rule for the receiver).
                let id = n.parse_params::<CancelledParams>().ok().map(|p| p.request_id);
                if let Some(task) = id.and_then(|id| demo.running().remove(&id)) {
                    task.abort();
                    demo.cancelled.fetch_add(1, Ordering::SeqCst);
                }
            }
            Ok(_) => {}
            Err(e) => demo.send(&Message::Response(e.to_response())),
        }
    }
    drop(demo);
    // The writer ends once every sender is gone; a panic there has nothing left to flush.
    writer.await.ok();
}

fn text(s: impl Into<String>) -> Value {
    json!({"content": [{"type": "text", "text": s.into()}]})
}

fn str_arg<'a>(args: &'a Map<String, Value>, key: &str) -> Result<&'a str, ErrorObject> {
    args.get(key).and_then(Value::as_str).ok_or_else(|| {
        ErrorObject::new(INVALID_PARAMS, format!("argument '{key}' (a string) is required"))
    })
}

fn num_arg(args: &Map<String, Value>, key: &str) -> Result<f64, ErrorObject> {
    args.get(key).and_then(Value::as_f64).ok_or_else(|| {
        ErrorObject::new(INVALID_PARAMS, format!("argument '{key}' (a number) is required"))
    })
}

impl Demo {
    fn running(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<Id, tokio::task::AbortHandle>> {
        self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn send(&self, msg: &Message) {
        // Fails only once stdout is gone, when nobody is listening any more.
        self.out.send(msg.to_vec()).ok();
    }

    fn tools(&self) -> Vec<Value> {
        let obj = |props: Value, required: &[&str]| json!({"type": "object", "properties": props, "required": required});
        let mut tools = vec![
            json!({"name": "echo", "description": "Echo the given text back.",
                   "inputSchema": obj(json!({"text": {"type": "string"}}), &["text"])}),
            json!({"name": "add", "description": "Add two numbers.",
                   "inputSchema": obj(json!({"a": {"type": "number"}, "b": {"type": "number"}}), &["a", "b"]),
                   "outputSchema": obj(json!({"sum": {"type": "number"}}), &["sum"])}),
            json!({"name": "word_count", "description": "Count the lines, words and characters of a text.",
                   "inputSchema": obj(json!({"text": {"type": "string"}}), &["text"])}),
            json!({"name": "utc_now", "description": "The current time in UTC (RFC 3339).",
                   "inputSchema": obj(json!({}), &[]), "annotations": {"readOnlyHint": true}}),
            json!({"name": "sleep", "description": "Wait for the given milliseconds (at most 60000), then answer.",
                   "inputSchema": obj(json!({"ms": {"type": "integer"}}), &["ms"])}),
            json!({"name": "get_env", "description": "The value of an environment variable of this server.",
                   "inputSchema": obj(json!({"name": {"type": "string"}}), &["name"])}),
            json!({"name": "toggle_bonus_tool", "description": "Add or remove the `bonus` tool (sends tools/list_changed).",
                   "inputSchema": obj(json!({}), &[])}),
        ];
        if self.bonus.load(Ordering::SeqCst) {
            tools.push(json!({"name": "bonus", "description": "Appears after toggle_bonus_tool.", "inputSchema": obj(json!({}), &[])}));
        }
        if self.test_tools {
            tools.push(json!({"name": "crash", "description": "Exit the server process with status 3 (for tests).",
                              "inputSchema": obj(json!({}), &[])}));
            tools.push(json!({"name": "hang", "description": "Answer this call, then no request at all (pings included) while staying alive (for tests).",
                              "inputSchema": obj(json!({}), &[])}));
            tools.push(json!({"name": "cancellations", "description": "How many requests notifications/cancelled stopped (for tests).",
                              "inputSchema": obj(json!({}), &[])}));
        }
        tools
    }

    fn list(&self, kind: ListKind) -> Vec<Value> {
        match kind {
            ListKind::Tools => self.tools(),
            ListKind::Resources => vec![
                json!({"uri": "demo://readme", "name": "readme", "title": "About the demo server", "mimeType": "text/markdown"}),
            ],
            ListKind::ResourceTemplates => vec![
                json!({"uriTemplate": "demo://greeting/{name}", "name": "greeting", "mimeType": "text/plain"}),
            ],
            ListKind::Prompts => {
                vec![json!({"name": "summarize", "description": "Ask for a summary of a text.",
                                             "arguments": [{"name": "text", "description": "What to summarize", "required": true}]})]
            }
        }
    }

    fn page(&self, kind: ListKind, cursor: Option<&str>) -> Result<Value, ErrorObject> {
        let all = self.list(kind);
        let start = match cursor {
            None => 0,
            Some(c) => c
                .parse::<usize>()
                .map_err(|_| ErrorObject::new(INVALID_PARAMS, format!("invalid cursor {c:?}")))?,
        };
        let size = if self.page_size == 0 { all.len().max(1) } else { self.page_size };
        let end = (start + size).min(all.len());
        let items = all
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_object().cloned())
            .collect();
        let next_cursor = (end < all.len()).then(|| end.to_string());
        Ok(ListPage { items, next_cursor, ..ListPage::default() }.to_result(kind))
    }

    async fn handle(&self, req: &Request) -> Response {
        match self.dispatch(req).await {
            Ok(v) => Response::ok_value(req.id.clone(), &v),
            Err(e) => Response::err(Some(req.id.clone()), e),
        }
    }

    async fn dispatch(&self, req: &Request) -> Result<Value, ErrorObject> {
        let params: Map<String, Value> = req.parse_params()?;
        match req.method.as_str() {
            method::INITIALIZE => {
                let asked =
                    params.get("protocolVersion").and_then(Value::as_str).unwrap_or_default();
                Ok(json!({
                    "protocolVersion": ProtocolVersion::negotiate(asked).as_str(),
                    "capabilities": {"tools": {"listChanged": true}, "resources": {}, "prompts": {}},
                    "serverInfo": {"name": "mcp-hub-demo", "version": env!("CARGO_PKG_VERSION")},
                    "instructions": "A small demo server bundled with mcp-hub.",
                }))
            }
            method::PING => Ok(json!({})),
            m if ListKind::from_method(m).is_some() => {
                let kind = ListKind::from_method(m).expect("checked by the guard");
                let p: PaginatedParams = req.parse_params()?;
                self.page(kind, p.cursor.as_deref())
            }
            method::TOOLS_CALL => self.call(&params).await,
            method::RESOURCES_READ => {
                let uri = str_arg(&params, "uri")?;
                let body = if uri == "demo://readme" {
                    "# mcp-hub demo\n\nThis server is bundled with mcp-hub. Try the `echo`, `add` and `word_count` tools.\n".to_owned()
                } else if let Some(name) = uri.strip_prefix("demo://greeting/") {
                    format!("Hello, {name}!")
                } else {
                    return Err(ErrorObject::new(-32002, format!("resource not found: {uri}")));
                };
                Ok(json!({"contents": [{"uri": uri, "mimeType": "text/plain", "text": body}]}))
            }
            method::PROMPTS_GET => {
                let name = str_arg(&params, "name")?;
                if name != "summarize" {
                    return Err(ErrorObject::new(
                        INVALID_PARAMS,
                        format!("unknown prompt '{name}'"),
                    ));
                }
                let args =
                    params.get("arguments").and_then(Value::as_object).cloned().unwrap_or_default();
                let t = str_arg(&args, "text")?;
                Ok(json!({"description": "Summarize a text", "messages": [
                    {"role": "user", "content": {"type": "text", "text": format!("Please summarize the following text:\n\n{t}")}}
                ]}))
            }
            other => Err(ErrorObject::new(METHOD_NOT_FOUND, format!("method not found: {other}"))),
        }
    }

    async fn call(&self, params: &Map<String, Value>) -> Result<Value, ErrorObject> {
        let name = str_arg(params, "name")?;
        let args = params.get("arguments").and_then(Value::as_object).cloned().unwrap_or_default();
        if !self.tools().iter().any(|t| t["name"] == name) {
            return Err(ErrorObject::new(INVALID_PARAMS, format!("unknown tool '{name}'")));
        }
        Ok(match name {
            "echo" => text(str_arg(&args, "text")?),
            "add" => {
                let sum = num_arg(&args, "a")? + num_arg(&args, "b")?;
                let mut r = text(format!("{sum}"));
                r["structuredContent"] = json!({"sum": sum});
                r
            }
            "word_count" => {
                let t = str_arg(&args, "text")?;
                text(format!(
                    "{} lines, {} words, {} characters",
                    t.lines().count(),
                    t.split_whitespace().count(),
                    t.chars().count()
                ))
            }
            "utc_now" => text(humantime::format_rfc3339_seconds(SystemTime::now()).to_string()),
            "sleep" => {
                let ms = num_arg(&args, "ms")?.clamp(0.0, 60_000.0) as u64;
                tokio::time::sleep(Duration::from_millis(ms)).await;
                text(format!("slept {ms} ms"))
            }
            "get_env" => {
                let key = str_arg(&args, "name")?;
                #[allow(clippy::disallowed_methods)] // the demo server is its own process
                match std::env::var(key) {
                    Ok(v) => text(v),
                    Err(_) => {
                        json!({"content": [{"type": "text", "text": format!("{key} is not set")}], "isError": true})
                    }
                }
            }
            "toggle_bonus_tool" => {
                let now = !self.bonus.fetch_xor(true, Ordering::SeqCst);
                self.send(&Message::Notification(hub_protocol::Notification::new(
                    method::TOOLS_LIST_CHANGED,
                    None,
                )));
                text(if now { "bonus tool added" } else { "bonus tool removed" })
            }
            "bonus" => text("bonus!"),
            "crash" => std::process::exit(3),
            "cancellations" => text(self.cancelled.load(Ordering::SeqCst).to_string()),
            "hang" => {
                self.hung.store(true, Ordering::SeqCst);
                text("hanging: no further request will be answered")
            }
            _ => return Err(ErrorObject::new(INVALID_PARAMS, format!("unknown tool '{name}'"))),
        })
    }
}
