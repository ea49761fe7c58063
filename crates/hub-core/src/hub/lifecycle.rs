//! An upstream's life: connecting it, following its connection (its messages, its exit, its
//! health pings), and the failures that stop and restart it (see `supervise.rs` for the pure
//! policies).

#[allow(clippy::wildcard_imports)] // a part of hub.rs, split off for size
use super::*;

impl Inner {
    /// Starts `u` and, once it is up, follows it ([`Inner::supervise`], [`Inner::health`]).
    /// A failure goes to [`Inner::fail`], which schedules the restart.
    pub(super) async fn connect(self: Arc<Self>, u: Arc<Upstream>, start: Start) {
        let (generation, entry) = {
            let mut st = lock(&u.state);
            st.error = match start {
                // Stopped, removed or reconfigured again before this task ran.
                Start::Deliberate { generation } if generation != st.generation => return,
                Start::Deliberate { .. } => {
                    st.restarts = Restarts::new(&self.settings.supervision.restart);
                    st.gave_up = false;
                    None
                }
                // Stopped, removed or restarted on purpose while the restart was pending.
                Start::Restart { generation, .. } if generation != st.generation => return,
                Start::Restart { ref note, .. } => Some(note.clone()),
            };
            st.generation += 1;
            st.status = Some(Status::Connecting);
            st.last_started = Some(SystemTime::now());
            (st.generation, st.entry.clone())
        };
        let name = &u.name;
        info!(server = %name, status = Status::Connecting.as_str(), "server connecting");
        server_changed(&self.events, name);
        let hello = upstream::Hello::shared();
        match upstream::open(&entry, self.env.as_ref(), &self.settings, &self.clients, &hello).await
        {
            Ok(c) => {
                let info = serde_json::to_value(&c.init.server_info).ok();
                let counts = [
                    c.lists.tools.len(),
                    c.lists.resources.len(),
                    c.lists.resource_templates.len(),
                    c.lists.prompts.len(),
                ];
                let current = {
                    let mut st = lock(&u.state);
                    let current = st.generation == generation;
                    if current {
                        st.status = Some(Status::Connected);
                        st.error = None;
                        st.server_info = info;
                        st.transport = Some(c.peer.transport());
                        st.capabilities = c.init.capabilities.clone();
                        st.instructions = c.init.instructions.clone();
                        st.lists = c.lists;
                        st.connected_at = Some(Instant::now());
                        st.peer = Some(c.peer.clone());
                        st.breaker = Breaker::new(&self.settings.supervision.breaker);
                        st.call_error = None;
                        st.ping_failures = 0;
                        st.ping_error = None;
                    }
                    current
                };
                if !current {
                    // Stopped, removed or restarted while starting: this connection is not wanted.
                    c.peer.shutdown().await;
                    return;
                }
                info!(
                    server = %name,
                    status = Status::Connected.as_str(),
                    protocol = %c.init.protocol_version,
                    tools = counts[0], resources = counts[1], resource_templates = counts[2], prompts = counts[3],
                    "server connected"
                );
                server_changed(&self.events, name);
                self.rebuild();
                self.resume_client_state(&u);
                let ping = self.settings.supervision.ping.clone();
                let health = Inner::health(
                    Arc::downgrade(&self),
                    u.clone(),
                    generation,
                    c.peer.clone(),
                    ping,
                );
                tokio::spawn(health);
                tokio::spawn(self.clone().supervise(u.clone(), generation, c.peer, c.incoming));
            }
            Err(Failure::Retry(error)) => self.fail(&u, generation, error),
            Err(failure) => self.refuse(&u, generation, &failure),
        }
    }

    /// A start that trying again cannot fix (credentials, the entry as written): no restart;
    /// the status says why, and a reload (or a deliberate start) tries again.
    pub(super) fn refuse(&self, u: &Upstream, generation: u64, failure: &Failure) {
        let status = match failure {
            Failure::Unauthorized(_) => Status::Unauthorized,
            _ => Status::Disconnected,
        };
        {
            let mut st = lock(&u.state);
            if st.generation != generation {
                return;
            }
            st.generation += 1;
            st.status = Some(status);
            st.error = Some(failure.message().to_owned());
            st.gave_up = true;
        }
        warn!(
            server = %u.name, status = status.as_str(), error = failure.message(),
            "server cannot start; not retrying until the config changes"
        );
        server_changed(&self.events, &u.name);
    }

    /// The connection (or start attempt) of `generation` is over without anyone asking: forget
    /// it, stop its process, and restart it as the policy says (the reason, and when the restart
    /// comes or that the hub gave up, go into `error`). A stale `generation` — the upstream was
    /// stopped, removed or restarted on purpose meanwhile — does nothing, so a deliberate stop
    /// never leads to an automatic restart.
    pub(super) fn fail(self: &Arc<Self>, u: &Arc<Upstream>, generation: u64, reason: String) {
        let now = Instant::now();
        let (peers, was_connected, next, decision) = {
            let mut st = lock(&u.state);
            if st.generation != generation {
                return;
            }
            st.generation += 1;
            let up_for = st.connected_at.map(|t| now.duration_since(t));
            let was_connected = st.status == Some(Status::Connected);
            st.status = Some(Status::Disconnected);
            st.lists = Lists::default();
            st.connected_at = None;
            let peers = st.take_peers();
            let decision = st.restarts.on_failure(now, up_for);
            st.error = Some(match decision {
                Decision::Restart { delay, attempt } => {
                    format!("{reason}; restarting in {} (attempt {attempt})", human(delay))
                }
                Decision::GiveUp { restarts, window } => {
                    st.gave_up = true;
                    format!(
                        "{reason}; gave up after {restarts} restarts within {}: fix the server, \
                         then save the config (or restart the hub) to try again",
                        human(window)
                    )
                }
                Decision::Off => {
                    st.gave_up = true;
                    reason.clone()
                }
            });
            (peers, was_connected, st.generation, decision)
        };
        let status = Status::Disconnected.as_str();
        match decision {
            Decision::Restart { delay, attempt } => {
                let delay = human(delay);
                warn!(server = %u.name, status, %reason, attempt, %delay, "server down; restarting");
            }
            Decision::GiveUp { restarts, window } => {
                let window = human(window);
                error!(
                    server = %u.name, status, %reason, restarts, %window,
                    "server keeps failing; gave up restarting it"
                );
            }
            Decision::Off => warn!(server = %u.name, status, %reason, "server down"),
        }
        server_changed(&self.events, &u.name);
        if was_connected {
            self.rebuild();
        }
        let inner = Arc::downgrade(self);
        let u = u.clone();
        tokio::spawn(async move {
            // A hung child is stopped before its successor starts.
            futures_util::future::join_all(peers.iter().map(Peer::shutdown)).await;
            let Decision::Restart { delay, attempt } = decision else { return };
            tokio::time::sleep(delay).await;
            if let Some(inner) = inner.upgrade() {
                let note = format!("{reason}; restarting (attempt {attempt})");
                inner.connect(u, Start::Restart { generation: next, note }).await;
            }
        });
    }

    /// Pings one connection every `interval` (while no call is in flight) until it closes or is
    /// replaced; `failures` consecutive failed pings count as a hang (see [`Inner::on_ping`]).
    pub(super) async fn health(
        inner: Weak<Inner>,
        u: Arc<Upstream>,
        generation: u64,
        peer: Peer,
        ping: PingSettings,
    ) {
        let Some(interval) = ping.interval.filter(|d| !d.is_zero()) else { return };
        loop {
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                _ = peer.closed() => return,
            }
            {
                let st = lock(&u.state);
                if st.generation != generation {
                    return;
                }
                if st.in_flight > 0 {
                    // A busy server is judged by its calls (their timeouts feed the breaker);
                    // a server that answers requests one at a time must not be killed for it.
                    continue;
                }
            }
            let outcome = match peer.request(method::PING, None, ping.timeout).await {
                // An error answer is an answer: the server is alive.
                Ok(_) | Err(hub_transport::Error::Rpc(_)) => Ok(()),
                // The exit is the supervisor's to report.
                Err(hub_transport::Error::Closed { .. }) => return,
                Err(e) => Err(error_chain(&e)),
            };
            let Some(inner) = inner.upgrade() else { return };
            if !inner.on_ping(&u, generation, outcome, ping.failures.max(1)) {
                return;
            }
        }
    }

    /// Records a ping's outcome; false when the health check of this connection is over.
    pub(super) fn on_ping(
        self: &Arc<Self>,
        u: &Arc<Upstream>,
        generation: u64,
        outcome: Result<(), String>,
        threshold: u32,
    ) -> bool {
        let mut st = lock(&u.state);
        if st.generation != generation {
            return false;
        }
        match outcome {
            Ok(()) => {
                if st.ping_failures > 0 {
                    st.ping_failures = 0;
                    st.ping_error = None;
                    let status = st.view().0.as_str();
                    drop(st);
                    info!(server = %u.name, status, "server answers pings again");
                    server_changed(&self.events, &u.name);
                }
                true
            }
            Err(e) => {
                st.ping_failures += 1;
                let failed = st.ping_failures;
                if failed >= threshold {
                    drop(st);
                    let reason = format!(
                        "server stopped answering: {failed} pings in a row failed (last: {e})"
                    );
                    self.fail(u, generation, reason);
                    return false;
                }
                let was_healthy = st.ping_error.is_none();
                st.ping_error = Some(e.clone());
                drop(st);
                let status = Status::Degraded.as_str();
                warn!(server = %u.name, status, failed, threshold, error = %e, "ping failed");
                if was_healthy {
                    server_changed(&self.events, &u.name);
                }
                true
            }
        }
    }

    /// Follows one connected upstream: its list_changed notifications, its requests, its exit.
    pub(super) async fn supervise(
        self: Arc<Self>,
        u: Arc<Upstream>,
        generation: u64,
        peer: Peer,
        mut incoming: Incoming,
    ) {
        loop {
            tokio::select! {
                msg = incoming.recv() => match msg {
                    Some(hub_protocol::Message::Notification(n)) => self.on_notification(&u, generation, &peer, n).await,
                    // No call claims it (see `relay`): the only client able to answer, if any.
                    Some(hub_protocol::Message::Request(r)) => self.spawn_relay(&u.name, &peer, None, r),
                    Some(hub_protocol::Message::Response(_)) => {}
                    None => break,
                },
                reason = peer.closed() => {
                    self.on_closed(&u, generation, &reason);
                    return;
                }
            }
        }
        let reason = peer.closed().await;
        self.on_closed(&u, generation, &reason);
    }

    pub(super) fn on_closed(self: &Arc<Self>, u: &Arc<Upstream>, generation: u64, reason: &str) {
        self.fail(u, generation, format!("server exited: {reason}"));
    }

    pub(super) async fn on_notification(
        self: &Arc<Self>,
        u: &Arc<Upstream>,
        generation: u64,
        peer: &Peer,
        n: Notification,
    ) {
        let kinds: &[ListKind] = match n.method.as_str() {
            method::TOOLS_LIST_CHANGED => &[ListKind::Tools],
            method::RESOURCES_LIST_CHANGED => &[ListKind::Resources, ListKind::ResourceTemplates],
            method::PROMPTS_LIST_CHANGED => &[ListKind::Prompts],
            _ => return self.unrelated_notification(u, peer, &n),
        };
        let refreshing = u.refreshing.lock().await;
        let capabilities = lock(&u.state).capabilities.clone();
        let mut fetched = Vec::new();
        for &kind in kinds {
            let timeout = self.settings.list_timeout;
            match upstream::fetch_if_offered(peer, &capabilities, kind, timeout).await {
                Ok(items) => fetched.push((kind, items)),
                // Keep what the hub has: the server's next notification tries again.
                Err(error) => warn!(server = %u.name, %error, "cannot fetch a changed list"),
            }
        }
        let lists = {
            let mut st = lock(&u.state);
            if st.generation != generation {
                return;
            }
            for (kind, items) in fetched {
                *st.lists.get_mut(kind) = items;
            }
            st.lists.clone()
        };
        self.rebuild();
        drop(refreshing);
        // mcp-hub's per-server events, with the server's whole lists as it gave them.
        let all = |kind: ListKind| {
            Value::Array(lists.get(kind).iter().cloned().map(Value::Object).collect())
        };
        let (kind, fields) = match n.method.as_str() {
            method::TOOLS_LIST_CHANGED => (
                Subscription::ToolListChanged,
                json!({"server": u.name, "tools": all(ListKind::Tools)}),
            ),
            method::PROMPTS_LIST_CHANGED => (
                Subscription::PromptListChanged,
                json!({"server": u.name, "prompts": all(ListKind::Prompts)}),
            ),
            _ => (
                Subscription::ResourceListChanged,
                json!({"server": u.name, "resources": all(ListKind::Resources),
                       "resourceTemplates": all(ListKind::ResourceTemplates)}),
            ),
        };
        self.events.subscription(kind, fields);
    }
}
