// MCP over streamable HTTP for k6: initialize (keeping the Mcp-Session-Id header), tools/list,
// tools/call, DELETE. Every request is tagged with its MCP method (tag `mcp`) so thresholds and
// summaries can be split per method.

import http from 'k6/http';
import { check } from 'k6';

export const PROTOCOL = '2025-11-25';
const ACCEPT = 'application/json, text/event-stream';

/** The hub's base URL: `HUB_URL` (default http://127.0.0.1:37373). */
export const BASE = (__ENV.HUB_URL || 'http://127.0.0.1:37373').replace(/\/$/, '');
const MCP = `${BASE}/mcp`;

function headers(session) {
  const h = { 'content-type': 'application/json', accept: ACCEPT };
  if (session) {
    h['mcp-session-id'] = session;
    h['mcp-protocol-version'] = PROTOCOL;
  }
  return h;
}

/** The JSON-RPC message with `id` in a POST answer (plain JSON or an SSE stream). */
export function answer(res, id) {
  const type = String(res.headers['Content-Type'] || '');
  if (!type.startsWith('text/event-stream')) {
    try { return JSON.parse(res.body); } catch (_) { return null; }
  }
  for (const block of String(res.body).split(/\r?\n\r?\n/)) {
    const data = block.split(/\r?\n/).filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, '')).join('\n');
    if (!data) continue;
    try {
      const msg = JSON.parse(data);
      if (msg.id === id) return msg;
    } catch (_) { /* not JSON: skip */ }
  }
  return null;
}

let nextId = 1;

function rpc(session, method, params) {
  const id = nextId++;
  const res = http.post(MCP, JSON.stringify({ jsonrpc: '2.0', id, method, params }),
    { headers: headers(session), tags: { mcp: method }, timeout: '10s' });
  const msg = res.status === 200 ? answer(res, id) : null;
  check(res, {
    [`${method}: status 200`]: (r) => r.status === 200,
    [`${method}: result`]: () => msg !== null && msg.result !== undefined && !msg.error,
  });
  return { res, msg };
}

/** Opens a session: initialize + notifications/initialized. Returns the session id or null. */
export function initialize() {
  const res = http.post(MCP, JSON.stringify({
    jsonrpc: '2.0', id: 0, method: 'initialize',
    params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'k6', version: '0' } },
  }), { headers: headers(null), tags: { mcp: 'initialize' }, timeout: '10s' });
  const session = res.headers['Mcp-Session-Id'] || null;
  const ok = check(res, {
    'initialize: status 200': (r) => r.status === 200,
    'initialize: session id': () => session !== null,
  });
  if (!ok) return null;
  const note = http.post(MCP, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    { headers: headers(session), tags: { mcp: 'notifications/initialized' }, timeout: '10s' });
  check(note, { 'initialized: status 202': (r) => r.status === 202 });
  return session;
}

/** tools/list; returns the tools (empty on failure). */
export function listTools(session) {
  const { msg } = rpc(session, 'tools/list', {});
  return (msg && msg.result && msg.result.tools) || [];
}

/** tools/call; a result with isError counts as a failed check. */
export function callTool(session, name, args) {
  const { msg } = rpc(session, 'tools/call', { name, arguments: args });
  check(msg, { 'tools/call: not isError': (m) => m !== null && m.result && m.result.isError !== true });
  return msg;
}

/** Ends the session (DELETE /mcp). */
export function close(session) {
  const res = http.del(MCP, null, { headers: headers(session), tags: { mcp: 'delete' }, timeout: '10s' });
  check(res, { 'delete: 2xx': (r) => r.status >= 200 && r.status < 300 });
}

/**
 * One iteration of a VU: a session that makes `calls` calls to demo__echo (every fifth one a
 * tools/list instead: the 80/20 mix of `hub-load --ops mixed`), then ends.
 */
export function sessionIteration(calls) {
  const session = initialize();
  if (!session) return;
  for (let i = 1; i <= calls; i++) {
    if (i % 5 === 0) listTools(session);
    else callTool(session, 'demo__echo', { text: 'hello' });
  }
  close(session);
}

/** Thresholds shared by the scenarios: p95 per MCP method and < 1 % failed requests / checks. */
export function thresholds(p95ms) {
  return {
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
    'http_req_duration{mcp:tools/call}': [`p(95)<${p95ms}`],
    'http_req_duration{mcp:tools/list}': [`p(95)<${p95ms}`],
    'http_req_duration{mcp:initialize}': [`p(95)<${p95ms * 2}`],
  };
}
