//! The conformance client: one MCP session over hub-transport's streamable HTTP client, shaped
//! by the scenario the official conformance suite (`@modelcontextprotocol/conformance`) runs.
//!
//! The suite starts a test server per scenario and runs `<binary> <server-url>` (the URL is the
//! last argument), with the scenario's name in `MCP_CONFORMANCE_SCENARIO`. Every scenario opens
//! the session the same way:
//!
//! 1. connect with [`HttpTransport::StreamableHttp`] (the suite speaks nothing else);
//! 2. `initialize`, offering protocol 2025-11-25 with `clientInfo` and the `elicitation`
//!    capability, and accept whichever revision the server picks as long as the hub speaks it
//!    ([`ProtocolVersion`]; the `sse-retry` server answers 2025-03-26);
//! 3. `notifications/initialized`, then `tools/list`.
//!
//! Then, by scenario:
//!
//! | scenario | then |
//! | --- | --- |
//! | `initialize` | nothing more |
//! | `tools_call` | `tools/call` of `add_numbers` with `{"a": 5, "b": 3}` |
//! | `elicitation-sep1034-client-defaults`, `sse-retry` | `tools/call` of the first listed tool with `{}` |
//!
//! For the whole session a task serves what the server sends on its own ([`serve`]):
//! `elicitation/create` is accepted with every default its requested schema declares (SEP-1034);
//! `ping` never gets here (the transport answers it); any other request is answered `-32601`.
//! The session ends with the transport's shutdown (`DELETE` of the session, if the server gave
//! one). Exit status 0 on success; 1 with the reason on stderr otherwise; 2 for a bad invocation.
//! Progress goes to stderr, with hub-transport's own debug log (`RUST_LOG` overrides it).
//!
//! Not supported: the suite's `auth/*` scenarios, which need an OAuth client that neither this
//! binary nor hub-transport has yet (see `xtask/src/conformance.rs`).

use std::{process::ExitCode, time::Duration};

use anyhow::{Context as _, bail};
use hub_pool::PoolSettings;
use hub_protocol::{
    ErrorObject, Message, ProtocolVersion, Request, Response,
    jsonrpc::{INVALID_PARAMS, METHOD_NOT_FOUND},
    mcp::{
        CallToolParams, Extra, Implementation, InitializeParams, InitializeResult, ListKind,
        ListPage, method,
    },
};
use hub_transport::{HttpSettings, HttpSpec, HttpTransport, Incoming, Peer};
use serde_json::{Value, json, value::to_raw_value};

/// Where the suite puts the scenario's name.
const SCENARIO_ENV: &str = "MCP_CONFORMANCE_SCENARIO";

/// The revision offered in `initialize`. Named, not [`ProtocolVersion::LATEST`]: the suite's
/// `initialize` scenario accepts only 2025-06-18 and 2025-11-25, whatever the hub learns later.
const OFFERED: ProtocolVersion = ProtocolVersion::V2025_11_25;

/// `clientInfo.name`.
const CLIENT_NAME: &str = "mcp-hub-conformance-client";

/// A server-to-client request asking the user for input.
const ELICITATION_CREATE: &str = "elicitation/create";

/// Bound on each request: under the suite's 30 s kill, so a server that never answers gets this
/// client's message instead of a killed process.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// How long, after shutdown, the task serving server requests gets to finish.
const SERVE_GRACE: Duration = Duration::from_secs(5);

/// The log filter when `RUST_LOG` is not set: the transport's debug lines show reconnects and
/// their delays, which is what the `sse-retry` scenario measures.
const DEFAULT_LOG: &str = "warn,hub_transport=debug";

/// What a scenario does after `tools/list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    /// `initialize`: nothing more.
    Initialize,
    /// `tools_call`: call `add_numbers` with 5 and 3.
    ToolsCall,
    /// `elicitation-sep1034-client-defaults`, `sse-retry`: call the first listed tool with `{}`.
    CallFirstTool,
}

impl Scenario {
    /// The scenario names this client knows, for the error message.
    const SUPPORTED: &str =
        "initialize, tools_call, elicitation-sep1034-client-defaults, sse-retry";

    fn parse(name: &str) -> Option<Self> {
        match name {
            "initialize" => Some(Self::Initialize),
            "tools_call" => Some(Self::ToolsCall),
            "elicitation-sep1034-client-defaults" | "sse-retry" => Some(Self::CallFirstTool),
            _ => None,
        }
    }
}

/// Reads the invocation, runs the session on a current-thread runtime, reports the outcome.
pub(crate) fn main() -> ExitCode {
    hub_integration::init_stderr_tracing(DEFAULT_LOG, "mcp-conformance-client");
    let Some(url) = std::env::args().skip(1).last() else {
        eprintln!("usage: {SCENARIO_ENV}=<scenario> mcp-conformance-client <server-url>");
        return ExitCode::from(2);
    };
    #[allow(clippy::disallowed_methods)] // the suite's contract passes the scenario this way
    let name = std::env::var(SCENARIO_ENV).unwrap_or_default();
    let Some(scenario) = Scenario::parse(&name) else {
        eprintln!(
            "conformance client: unsupported scenario {name:?} in {SCENARIO_ENV} (supported: {})",
            Scenario::SUPPORTED
        );
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("conformance client: cannot start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("conformance client: scenario {name}, server {url}");
    match runtime.block_on(run(&url, scenario)) {
        Ok(()) => {
            eprintln!("conformance client: scenario {name} done");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("conformance client: scenario {name} FAILED: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Connects, runs the session while serving the server's requests, and shuts down.
async fn run(url: &str, scenario: Scenario) -> anyhow::Result<()> {
    let client = hub_pool::http_client(&PoolSettings::default())?;
    let spec = HttpSpec {
        url: url.to_owned(),
        headers: Vec::new(),
        transport: HttpTransport::StreamableHttp,
        limit: None,
    };
    let (peer, incoming) =
        hub_transport::connect("conformance-server", &spec, &HttpSettings::default(), client)
            .await
            .context("cannot set up the streamable HTTP transport")?;
    let server = tokio::spawn(serve(peer.clone(), incoming));
    let outcome = session(&peer, scenario).await;
    eprintln!("-- shutting down (DELETE of the session, if the server gave one)");
    peer.shutdown().await;
    // Incoming ends once the transport is closed, which ends `serve`.
    match tokio::time::timeout(SERVE_GRACE, server).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => eprintln!("-- the task serving server requests failed: {error}"),
        Err(_) => eprintln!("-- the task serving server requests did not end; abandoned"),
    }
    outcome
}

/// The client's side of the session: initialize, list the tools, then the scenario's call.
async fn session(peer: &Peer, scenario: Scenario) -> anyhow::Result<()> {
    initialize(peer).await?;
    peer.notify(method::INITIALIZED, None)
        .await
        .context("the server did not accept notifications/initialized")?;
    eprintln!("-> notifications/initialized: accepted");
    let tools = list_tools(peer).await?;
    match scenario {
        Scenario::Initialize => Ok(()),
        Scenario::ToolsCall => call_tool(peer, "add_numbers", json!({"a": 5, "b": 3})).await,
        Scenario::CallFirstTool => {
            let Some(first) = tools.first() else { bail!("the server listed no tools to call") };
            call_tool(peer, first, json!({})).await
        }
    }
}

/// Sends `initialize` and checks the server's choice of revision.
async fn initialize(peer: &Peer) -> anyhow::Result<()> {
    let params = InitializeParams {
        protocol_version: OFFERED.as_str().to_owned(),
        capabilities: object(json!({"elicitation": {}})),
        client_info: Implementation {
            name: CLIENT_NAME.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            extra: Extra::new(),
        },
        extra: Extra::new(),
    };
    eprintln!("-> initialize (protocol {OFFERED})");
    let result = peer
        .request(method::INITIALIZE, Some(to_raw_value(&params)?), REQUEST_TIMEOUT)
        .await
        .context("initialize failed")?;
    let result: InitializeResult =
        serde_json::from_str(result.get()).context("malformed initialize result")?;
    let Some(version) = ProtocolVersion::parse(&result.protocol_version) else {
        bail!(
            "the server chose protocol version {:?}, which this client does not speak \
             (it speaks {})",
            result.protocol_version,
            ProtocolVersion::supported_list()
        );
    };
    eprintln!(
        "<- initialize: server {} {}, protocol {version}",
        result.server_info.name, result.server_info.version
    );
    Ok(())
}

/// Sends `tools/list` and returns the tools' names in the order listed.
async fn list_tools(peer: &Peer) -> anyhow::Result<Vec<String>> {
    eprintln!("-> tools/list");
    let result = peer
        .request(method::TOOLS_LIST, Some(to_raw_value(&json!({}))?), REQUEST_TIMEOUT)
        .await
        .context("tools/list failed")?;
    let page = ListPage::from_result(ListKind::Tools, &result)
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let names: Vec<String> = page
        .items
        .iter()
        .filter_map(|tool| tool.get("name")?.as_str().map(str::to_owned))
        .collect();
    eprintln!("<- tools/list: [{}]", names.join(", "));
    Ok(names)
}

/// Calls a tool; a result with `isError: true` is a failure.
async fn call_tool(peer: &Peer, name: &str, arguments: Value) -> anyhow::Result<()> {
    eprintln!("-> tools/call {name} {arguments}");
    let params =
        CallToolParams { name: name.to_owned(), arguments: Some(arguments), extra: Extra::new() };
    let result = peer
        .request(method::TOOLS_CALL, Some(to_raw_value(&params)?), REQUEST_TIMEOUT)
        .await
        .with_context(|| format!("tools/call {name} failed"))?;
    let result: Value =
        serde_json::from_str(result.get()).context("malformed tools/call result")?;
    let text = text_content(&result);
    if result.get("isError").and_then(Value::as_bool) == Some(true) {
        bail!("tools/call {name} returned an error result: {text}");
    }
    eprintln!("<- tools/call {name}: {text}");
    Ok(())
}

/// Answers what the server sends on its own until the transport closes.
async fn serve(peer: Peer, mut incoming: Incoming) {
    while let Some(message) = incoming.recv().await {
        match message {
            Message::Request(request) => {
                let response = answer(&request);
                match &response.outcome {
                    Ok(result) => {
                        eprintln!("<- {} (id {}): answered {}", request.method, request.id, result);
                    }
                    Err(error) => {
                        eprintln!("<- {} (id {}): refused: {error}", request.method, request.id);
                    }
                }
                if let Err(error) = peer.respond(response).await {
                    eprintln!("-- cannot send the answer to {}: {error}", request.method);
                }
            }
            Message::Notification(notification) => {
                eprintln!("<- notification {}", notification.method);
            }
            Message::Response(response) => {
                eprintln!("<- a response to no request of ours (id {:?}); ignored", response.id);
            }
        }
    }
}

/// The answer to a server-to-client request.
fn answer(request: &Request) -> Response {
    let id = request.id.clone();
    match request.method.as_str() {
        ELICITATION_CREATE => match request.parse_params::<Value>().and_then(|p| accept(&p)) {
            Ok(result) => Response::ok_value(id, &result),
            Err(error) => Response::err(Some(id), error),
        },
        other => Response::err(
            Some(id),
            ErrorObject::new(METHOD_NOT_FOUND, format!("method not found: {other}")),
        ),
    }
}

/// Accepts a form-mode elicitation with the default of every property of the requested schema
/// that has one (SEP-1034: a client applies the defaults the user did not change).
fn accept(params: &Value) -> Result<Value, ErrorObject> {
    if let Some(mode) = params.get("mode").and_then(Value::as_str)
        && mode != "form"
    {
        return Err(ErrorObject::new(
            INVALID_PARAMS,
            format!("elicitation mode {mode:?} is not supported (only form mode is declared)"),
        ));
    }
    let content: Extra = params
        .pointer("/requestedSchema/properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(name, schema)| Some((name.clone(), schema.get("default")?.clone())))
        .collect();
    Ok(json!({"action": "accept", "content": content}))
}

/// The text blocks of a tool result, joined (for the log).
fn text_content(result: &Value) -> String {
    let texts: Vec<&str> = result
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|block| block.get("text")?.as_str())
        .collect();
    if texts.is_empty() { result.to_string() } else { texts.join(" ") }
}

/// The members of a JSON object literal.
fn object(value: Value) -> Extra {
    match value {
        Value::Object(map) => map,
        _ => Extra::new(),
    }
}

#[cfg(test)]
mod tests;
