//! File watching: config hot reload (`--watch`) and dev mode (a stdio server restarted when its
//! source files change).
//!
//! Both watch *directories*, not files: editors save by writing a temporary file and renaming it
//! over the original (a watch on the old file would go quiet), and a config file may not exist
//! yet when the hub starts (a project config created later is picked up). Events are debounced,
//! then the whole config is read again and handed to [`Hub::reload`], which diffs it and touches
//! only the servers that changed.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use hub_config::{Config, ServerKind};
use hub_core::Hub;
use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

/// Quiet time before a config reload, unless `hub.watch.debounce` says otherwise.
pub(crate) const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(200);
/// Quiet time before a dev-mode restart (mcp-hub's 500 ms).
const DEV_DEBOUNCE: Duration = Duration::from_millis(500);

type Watcher = Debouncer<notify::RecommendedWatcher, RecommendedCache>;

/// Runs the watchers until aborted: dev mode for the servers that ask for it and, with `debounce`
/// set (`--watch`), the config files, reloading the hub when one is created, changed, replaced
/// or removed (dev watchers follow each applied reload).
pub(crate) async fn run(hub: Arc<Hub>, paths: Vec<PathBuf>, debounce: Option<Duration>) {
    let mut dev_watches = dev(&hub, &hub.config());
    let Some(debounce) = debounce else {
        // Dev mode only: keep the watchers alive until the task is aborted.
        std::future::pending::<()>().await;
        return;
    };
    let targets = targets(&paths);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut watcher = match new_debouncer(debounce, None, forward(tx)) {
        Ok(w) => w,
        Err(e) => {
            error!(error = %e, "cannot watch the config files; hot reload is off");
            std::future::pending::<()>().await;
            return;
        }
    };
    for dir in targets.iter().filter_map(|t| t.parent()).collect::<BTreeSet<_>>() {
        match watcher.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => debug!(dir = %dir.display(), "watching for config changes"),
            Err(e) => {
                warn!(dir = %dir.display(), error = %e, "cannot watch this directory; changes to config files in it are not noticed")
            }
        }
    }
    info!(files = paths.len(), "watching config files for changes");
    while let Some(changed) = rx.recv().await {
        if changed.iter().any(|p| targets.contains(p)) && reload(&hub, &paths).await {
            drop(std::mem::take(&mut dev_watches));
            dev_watches = dev(&hub, &hub.config());
        }
    }
}

/// Absolute paths of the config files, plus the files their symlinks point to (a dotfile manager
/// links the config; the real file is what an editor changes).
fn targets(paths: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for p in paths {
        if let Ok(abs) = std::path::absolute(p) {
            out.insert(abs);
        }
        if let Ok(real) = std::fs::canonicalize(p) {
            out.insert(real);
        }
    }
    out
}

/// Reads every config file again and applies the result; a broken config changes nothing.
/// Returns whether the config was applied.
pub(crate) async fn reload(hub: &Hub, paths: &[PathBuf]) -> bool {
    let config = match crate::run::read_sources(paths) {
        Ok(sources) => match hub_config::load(&sources) {
            Ok(c) => c,
            Err(errors) => {
                for e in &errors {
                    error!("config reload rejected: {e}");
                }
                warn!("config reload rejected; the running configuration is unchanged");
                return false;
            }
        },
        Err(e) => {
            error!("config reload rejected: {e:#}");
            return false;
        }
    };
    for w in &config.warnings {
        warn!("{w}");
    }
    let settings_changed = hub.config().settings != config.settings;
    match hub.reload(config).await {
        Ok(changes) if changes.is_empty() => info!("config reloaded: no server changed"),
        Ok(changes) => info!(
            added = ?changes.added,
            removed = ?changes.removed,
            modified = ?changes.modified_names().collect::<Vec<_>>(),
            "config reloaded"
        ),
        Err(problems) => {
            for p in &problems {
                error!("config reload rejected: {p}");
            }
            warn!(
                problems = problems.len(),
                "config reload rejected; the running configuration is unchanged (fix the errors above and save again)"
            );
            return false;
        }
    }
    if settings_changed {
        warn!("the \"hub\" settings changed; they take effect when the hub restarts");
    }
    true
}

/// Sends the paths of each debounced batch (errors are logged) to the async side.
fn forward(tx: mpsc::UnboundedSender<Vec<PathBuf>>) -> impl FnMut(DebounceEventResult) + Send {
    move |result: DebounceEventResult| match result {
        Ok(events) => {
            // Reading a file is an event too (inotify's open/close-nowrite): ignoring those keeps
            // the hub's own reads from triggering another reload.
            let paths: Vec<PathBuf> = events
                .into_iter()
                .filter(|e| !e.event.kind.is_access())
                .flat_map(|e| e.event.paths)
                .collect();
            if !paths.is_empty() {
                // Fails only while the hub shuts down.
                tx.send(paths).ok();
            }
        }
        Err(errors) => {
            for e in errors {
                warn!(error = %e, "file watch error");
            }
        }
    }
}

/// Dev mode: for every enabled stdio server with a `dev` entry, restarts it when a file under
/// `dev.cwd` matching one of `dev.watch` is created, changed or removed. Patterns are matched on
/// every event (mcp-hub expands them once at start and misses new files). Call again after a
/// reload to replace the old watchers (dropping one stops it).
fn dev(hub: &Arc<Hub>, config: &Config) -> Vec<DevWatch> {
    config
        .servers
        .iter()
        .filter(|s| !s.disabled)
        .filter_map(|s| match &s.kind {
            ServerKind::Stdio { dev: Some(dev), .. } if dev.enabled => Some((s.name.clone(), dev)),
            _ => None,
        })
        .filter_map(|(name, dev)| match DevWatch::start(hub.clone(), &name, dev) {
            Ok(w) => Some(w),
            Err(e) => {
                warn!(server = %name, error = %e, "dev mode: cannot watch {}", dev.cwd);
                None
            }
        })
        .collect()
}

/// One server's dev-mode watch; dropping it stops watching.
pub(crate) struct DevWatch {
    _watcher: Watcher,
    task: tokio::task::JoinHandle<()>,
}

impl DevWatch {
    fn start(hub: Arc<Hub>, name: &str, dev: &hub_config::Dev) -> anyhow::Result<Self> {
        let mut globs = globset::GlobSetBuilder::new();
        for pattern in &dev.watch {
            globs.add(globset::Glob::new(pattern)?);
        }
        let globs = globs.build()?;
        let root = PathBuf::from(&dev.cwd);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut watcher = new_debouncer(DEV_DEBOUNCE, None, forward(tx))?;
        watcher.watch(&root, RecursiveMode::Recursive)?;
        let name = name.to_owned();
        info!(server = %name, dir = %root.display(), patterns = ?dev.watch, "dev mode: watching source files");
        let task = tokio::spawn(async move {
            while let Some(paths) = rx.recv().await {
                let files: Vec<&Path> = paths
                    .iter()
                    .filter_map(|p| p.strip_prefix(&root).ok())
                    .filter(|rel| globs.is_match(rel))
                    .collect();
                if files.is_empty() {
                    continue;
                }
                info!(server = %name, files = ?files, "dev mode: source files changed; restarting the server");
                hub.restart_server(&name).await;
            }
        });
        Ok(DevWatch { _watcher: watcher, task })
    }
}

impl Drop for DevWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for DevWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevWatch").finish_non_exhaustive()
    }
}
