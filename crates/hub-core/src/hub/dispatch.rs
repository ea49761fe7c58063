//! Answering a client's request: initialize, ping, the lists, and routing calls to the
//! upstream that owns the name (with what the upstream sends meanwhile relayed, see `relay.rs`).

#[allow(clippy::wildcard_imports)] // a part of hub.rs, split off for size
use super::*;

impl Inner {
    pub(super) async fn handle(self: &Arc<Self>, ctx: &Context, req: Request) -> Response {
        let id = req.id.clone();
        match self.dispatch(ctx, &req).await {
            Ok(result) => Response::ok(id, result),
            Err(e) => Response::err(Some(id), e),
        }
    }

    pub(super) async fn dispatch(
        self: &Arc<Self>,
        ctx: &Context,
        req: &Request,
    ) -> Result<Box<RawValue>, ErrorObject> {
        match req.method.as_str() {
            method::INITIALIZE => {
                let p: InitializeParams = req.parse_params()?;
                self.sessions.initialized(
                    ctx.session().clone(),
                    ctx.handle().clone(),
                    p.capabilities.clone(),
                );
                // A client that asks for no level gets everything: upstreams may need to say more.
                let inner = self.clone();
                tokio::spawn(async move { inner.sync_log_levels().await });
                Ok(raw(&self.initialize_result(&p)))
            }
            method::PING => Ok(raw(&json!({}))),
            m if ListKind::from_method(m).is_some() => {
                let kind = ListKind::from_method(m).expect("checked by the guard");
                let p: PaginatedParams = req.parse_params()?;
                let start = match &p.cursor {
                    None => 0,
                    Some(c) => crate::registry::cursor_offset(kind, c).ok_or_else(|| {
                        ErrorObject::new(INVALID_PARAMS, format!("invalid cursor {c:?}"))
                    })?,
                };
                let routing = self.routing();
                let all = &routing.registry.get(kind).items;
                let size =
                    if self.settings.page_size == 0 { all.len() } else { self.settings.page_size };
                let end = start.saturating_add(size).min(all.len());
                let page = ListPage {
                    items: all.get(start..end).unwrap_or_default().to_vec(),
                    // A list that shrank under a cursor ends early; the client also got
                    // list_changed and lists again.
                    next_cursor: (end < all.len()).then(|| crate::registry::cursor(kind, end)),
                    ..ListPage::default()
                };
                Ok(raw(&page.to_result(kind)))
            }
            method::TOOLS_CALL => {
                let mut p: CallToolParams = req.parse_params()?;
                let token = progress_token(&p.extra);
                let outcome = match self.target(ListKind::Tools, &p.name) {
                    Ok((server, original)) => {
                        p.name = original;
                        // mcp-hub sends `{}` when the client sent none; some servers require it.
                        p.arguments.get_or_insert_with(|| json!({}));
                        self.forward(&server, method::TOOLS_CALL, &p, ctx, token.as_ref()).await
                    }
                    Err(e) => Err(e),
                };
                // Failures of the tool's server are tool results (the model can read them);
                // protocol errors (unknown tool, bad params) stay JSON-RPC errors.
                match outcome {
                    Ok(r) => Ok(r),
                    Err(e) => match e.to_tool_result() {
                        Some(result) => Ok(raw(&result)),
                        None => Err(e.to_jsonrpc()),
                    },
                }
            }
            method::PROMPTS_GET => {
                let mut p: GetPromptParams = req.parse_params()?;
                let token = progress_token(&p.extra);
                let target = self.target(ListKind::Prompts, &p.name).map_err(|e| e.to_jsonrpc())?;
                p.name = target.1;
                p.arguments.get_or_insert_with(|| json!({}));
                self.forward(&target.0, method::PROMPTS_GET, &p, ctx, token.as_ref())
                    .await
                    .map_err(|e| e.to_jsonrpc())
            }
            method::RESOURCES_READ => {
                let mut p: ReadResourceParams = req.parse_params()?;
                let token = progress_token(&p.extra);
                let (server, original) = self.resource(&p.uri)?;
                p.uri = original;
                self.forward(&server, method::RESOURCES_READ, &p, ctx, token.as_ref())
                    .await
                    .map_err(|e| e.to_jsonrpc())
            }
            method::RESOURCES_SUBSCRIBE | method::RESOURCES_UNSUBSCRIBE => {
                let mut p: ReadResourceParams = req.parse_params()?;
                let exposed = p.uri.clone();
                let (server, original) = self.resource(&p.uri)?;
                let key = (server.name.clone(), original.clone());
                let session = ctx.session().id.clone();
                let subscribe = req.method == method::RESOURCES_SUBSCRIBE;
                let upstream_too = if subscribe {
                    self.sessions.subscribe(key.clone(), session.clone(), exposed)
                } else {
                    self.sessions.unsubscribe(&key, &session)
                };
                if !upstream_too {
                    return Ok(raw(&json!({})));
                }
                p.uri = original;
                let outcome = self.forward(&server, &req.method, &p, ctx, None).await;
                if subscribe && outcome.is_err() {
                    // Not subscribed after all: the next subscriber tries again.
                    self.sessions.unsubscribe(&key, &session);
                }
                outcome.map_err(|e| e.to_jsonrpc())
            }
            method::LOGGING_SET_LEVEL => {
                #[derive(serde::Deserialize)]
                struct Params {
                    level: String,
                }
                let p: Params = req.parse_params()?;
                let level = LogLevel::parse(&p.level).ok_or_else(|| {
                    ErrorObject::new(INVALID_PARAMS, format!("unknown log level {:?}", p.level))
                })?;
                self.sessions.set_log_level(&ctx.session().id, level);
                self.sync_log_levels().await;
                Ok(raw(&json!({})))
            }
            method::COMPLETION_COMPLETE => self.complete(ctx, req).await,
            other => Err(ErrorObject::new(METHOD_NOT_FOUND, format!("method not found: {other}"))),
        }
    }

    /// The upstream serving a resource URI, and the URI it knows it by.
    pub(super) fn resource(&self, uri: &str) -> Result<(Arc<Upstream>, String), ErrorObject> {
        let routing = self.routing();
        let target = routing
            .registry
            .lookup_resource(uri)
            .ok_or_else(|| self.missing("resource", uri).to_jsonrpc())?;
        Ok((routing.servers[target.server].clone(), target.original))
    }

    /// `completion/complete`, routed by its reference (a prompt name, a resource template). An
    /// upstream that offers no completions gets no request: the answer is no suggestions.
    pub(super) async fn complete(
        self: &Arc<Self>,
        ctx: &Context,
        req: &Request,
    ) -> Result<Box<RawValue>, ErrorObject> {
        let mut p: Extra = req.parse_params()?;
        let reference = p.get("ref").and_then(Value::as_object).cloned().unwrap_or_default();
        let (field, kind) = match reference.get("type").and_then(Value::as_str) {
            Some("ref/prompt") => ("name", ListKind::Prompts),
            Some("ref/resource") => ("uri", ListKind::ResourceTemplates),
            other => {
                return Err(ErrorObject::new(
                    INVALID_PARAMS,
                    format!("ref.type must be \"ref/prompt\" or \"ref/resource\", found {other:?}"),
                ));
            }
        };
        let Some(name) = reference.get(field).and_then(Value::as_str) else {
            return Err(ErrorObject::new(INVALID_PARAMS, format!("ref.{field} is missing")));
        };
        let routing = self.routing();
        let target: Option<Target> = match kind {
            ListKind::Prompts => routing.registry.lookup(kind, name).cloned(),
            _ => routing.registry.lookup_template(name),
        };
        let Some(target) = target else {
            let noun = if kind == ListKind::Prompts { "prompt" } else { "resource" };
            return Err(self.missing(noun, name).to_jsonrpc());
        };
        let server = routing.servers[target.server].clone();
        drop(routing);
        if !lock(&server.state).capabilities.contains_key("completions") {
            return Ok(raw(&json!({"completion": {"values": [], "hasMore": false}})));
        }
        let mut reference = reference;
        reference.insert(field.to_owned(), Value::String(target.original));
        p.insert("ref".to_owned(), Value::Object(reference));
        self.forward(&server, method::COMPLETION_COMPLETE, &p, ctx, None)
            .await
            .map_err(|e| e.to_jsonrpc())
    }

    /// A (re)connected upstream gets what clients asked of its predecessor: the log level and
    /// the resource subscriptions.
    pub(super) fn resume_client_state(self: &Arc<Self>, u: &Arc<Upstream>) {
        if self.sessions.log_level().is_some() {
            let (inner, u) = (self.clone(), u.clone());
            tokio::spawn(async move {
                // In turn with `sync_log_levels`, and the level current by then: an older one
                // landing last would stay (the sync skips a level it already sent).
                let _synced = inner.log_sync.lock().await;
                if let Some(level) = inner.sessions.log_level() {
                    inner.set_upstream_log_level(&u, level).await;
                }
            });
        }
        let uris = self.sessions.subscribed_on(&u.name);
        let Some(peer) = lock(&u.state).peer.clone().filter(|_| !uris.is_empty()) else { return };
        let (name, timeout) = (u.name.clone(), self.settings.list_timeout);
        tokio::spawn(async move {
            for uri in uris {
                let params = serde_json::value::to_raw_value(&json!({"uri": uri})).ok();
                if let Err(error) = peer.request(method::RESOURCES_SUBSCRIBE, params, timeout).await
                {
                    warn!(server = %name, %uri, %error, "could not subscribe again after a reconnect");
                }
            }
        });
    }

    /// Ends the hub's subscription to a resource nobody watches any more.
    pub(super) fn unsubscribe_upstream(self: &Arc<Self>, server: &str, uri: String) {
        let Some(u) = self.find(server) else { return };
        let Some(peer) = lock(&u.state).peer.clone() else { return };
        let timeout = self.settings.list_timeout;
        tokio::spawn(async move {
            let params = serde_json::value::to_raw_value(&json!({"uri": uri})).ok();
            if let Err(error) = peer.request(method::RESOURCES_UNSUBSCRIBE, params, timeout).await {
                debug!(server = %u.name, %error, "could not unsubscribe");
            }
        });
    }

    pub(super) fn target(
        &self,
        kind: ListKind,
        name: &str,
    ) -> Result<(Arc<Upstream>, String), RouteError> {
        let noun = match kind {
            ListKind::Tools => "tool",
            ListKind::Prompts => "prompt",
            ListKind::Resources | ListKind::ResourceTemplates => "resource",
        };
        let routing = self.routing();
        routing
            .registry
            .lookup(kind, name)
            .map(|t| (routing.servers[t.server].clone(), t.original.clone()))
            .ok_or_else(|| self.missing(noun, name))
    }

    /// Why a name is not routable: its server is configured and meant to run but is down
    /// (restarting, starting, or given up on) — say so, with its last error — or the name is
    /// simply unknown. A disabled server's names are unknown, as are hidden ones.
    pub(super) fn missing(&self, noun: &'static str, name: &str) -> RouteError {
        let down = name.split_once(crate::registry::DELIMITER).and_then(|(id, _)| {
            let upstreams = self.upstreams();
            let u = upstreams.iter().find(|u| u.id == id)?;
            let st = lock(&u.state);
            let running = matches!(st.status, Some(Status::Connected | Status::Degraded));
            (!running && st.entry.should_run()).then(|| RouteError::NotConnected {
                server: u.name.clone(),
                reason: st.error.clone(),
            })
        });
        down.unwrap_or_else(|| RouteError::Unknown { kind: noun, name: name.to_owned() })
    }

    /// Sends a call to its upstream and relays what the upstream sends about it meanwhile
    /// (progress under the client's `token`, log messages, requests to the client) to `ctx`.
    pub(super) async fn forward<P: serde::Serialize>(
        self: &Arc<Self>,
        u: &Arc<Upstream>,
        m: &str,
        params: &P,
        ctx: &Context,
        token: Option<&Id>,
    ) -> Result<Box<RawValue>, RouteError> {
        let timing = (self.settings.request_timeout, self.settings.request_max_total);
        self.forward_timed(u, m, params, ctx, token, timing).await
    }

    /// [`Inner::forward`] with its own `(timeout, max_total)`: how long to wait for the answer
    /// (started over by each progress notification) and how long at most.
    pub(super) async fn forward_timed<P: serde::Serialize>(
        self: &Arc<Self>,
        u: &Arc<Upstream>,
        m: &str,
        params: &P,
        ctx: &Context,
        token: Option<&Id>,
        (timeout, max_total): (std::time::Duration, std::time::Duration),
    ) -> Result<Box<RawValue>, RouteError> {
        let own = self.instance(u, ctx).await?;
        let (peer, mut call) = {
            let mut st = lock(&u.state);
            let (peer, instance) = match own {
                Some((peer, i)) => (peer, Some((ctx.session().id.clone(), i))),
                None => match st.peer.clone() {
                    Some(peer) => (peer, None),
                    None => {
                        return Err(RouteError::NotConnected {
                            server: u.name.clone(),
                            reason: st.error.clone(),
                        });
                    }
                },
            };
            let admitted = match &instance {
                Some((_, i)) => lock(&i.breaker).admit(Instant::now()),
                None => st.breaker.admit(Instant::now()),
            };
            if let Admission::Reject { retry_in } = admitted {
                return Err(RouteError::CircuitOpen { server: u.name.clone(), retry_in });
            }
            if instance.is_none() {
                st.in_flight += 1;
            }
            (
                peer,
                Call {
                    u,
                    events: &self.events,
                    generation: st.generation,
                    admitted,
                    settled: false,
                    instance,
                },
            )
        };
        let params =
            serde_json::value::to_raw_value(params).expect("typed params always serialize");
        let (related, mut messages) = tokio::sync::mpsc::unbounded_channel();
        let options = CallOptions {
            timeout,
            max_total: Some(max_total),
            related: Some(related),
            // Always: progress keeps a long call alive even when the client asked for none.
            progress: true,
        };
        let own = call.instance.is_some();
        // The server's requests to the client it cancelled meanwhile: the client is told
        // before the answer (on the call's own stream, while it is open).
        let mut cancelling = Vec::new();
        let result = {
            let request = peer.call(m, Some(params), options);
            tokio::pin!(request);
            loop {
                tokio::select! {
                    biased;
                    Some(message) = messages.recv() => {
                        cancelling.extend(self.relate((u, call.generation, &peer, own), ctx, token, message));
                    }
                    result = &mut request => break result,
                }
            }
        };
        // What arrived with the response still goes first.
        while let Ok(message) = messages.try_recv() {
            cancelling.extend(self.relate((u, call.generation, &peer, own), ctx, token, message));
        }
        for done in cancelling {
            // Sent, or dropped: either way that relay is over.
            done.await.ok();
        }
        match &result {
            // An error answer is an answer: only failures to get one count against the server.
            Ok(_) | Err(hub_transport::Error::Rpc(_)) => call.settle(None),
            // The connection itself is gone: the exit handling restarts it. Counting it would
            // open the breaker on a connection that no longer exists (calls in flight fail a
            // moment before the exit is handled) and refuse calls to its healthy successor.
            Err(hub_transport::Error::Closed { .. }) => {}
            Err(e) => call.settle(Some(error_chain(e))),
        }
        result.map_err(|e| RouteError::from_transport(&u.name, e))
    }
}
