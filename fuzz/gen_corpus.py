#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ (run from anywhere; overwrites seeds)."""

import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"


def j(v):
    return json.dumps(v, separators=(",", ":")).encode()


CALL = {"name": "github__search_repositories", "arguments": {"query": "mcp", "page": 1},
        "_meta": {"progressToken": "tok-1"}}
INIT = {"protocolVersion": "2025-11-25", "capabilities": {"roots": {"listChanged": True}, "sampling": {}},
        "clientInfo": {"name": "claude-code", "version": "2.0.1", "title": "Claude Code"}}
TOOL = {"name": "echo", "description": "Echoes its input", "inputSchema": {
    "type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    "annotations": {"readOnlyHint": True}}

jsonrpc = {
    "initialize": j({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": INIT}),
    "initialized": j({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    "tools_list": j({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"cursor": "c2"}}),
    "tools_call": j({"jsonrpc": "2.0", "id": "req-7", "method": "tools/call", "params": CALL}),
    "result": j({"jsonrpc": "2.0", "id": 1, "result": {"tools": [TOOL], "nextCursor": "c3"}}),
    "error": j({"jsonrpc": "2.0", "id": 2, "error": {"code": -32602, "message": "unknown tool",
                                                     "data": {"name": "x"}}}),
    "error_null_id": j({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}),
    "cancelled": j({"jsonrpc": "2.0", "method": "notifications/cancelled",
                    "params": {"requestId": 7, "reason": "timeout"}}),
    "batch": b"[" + j({"jsonrpc": "2.0", "id": 1, "method": "ping"}) + b","
             + j({"jsonrpc": "2.0", "method": "notifications/initialized"}) + b"]",
    "spaced_params": b'{ "jsonrpc" : "2.0" , "id" : 3 , "method" : "x" , "params" : [ 1 , 2.5e3 , "\\u00e9" ] }',
    "bad_version": j({"jsonrpc": "1.0", "id": 4, "method": "ping"}),
    "not_json": b'{"jsonrpc":"2.0","id":5,"method":',
    "big_float_id": b'{"jsonrpc":"2.0","id":551555551755555555555555,"result":1.0000000000000002}',
}

# stdio_framing: byte 0 = line cap, byte 1 = number of chunk-size bytes, then sizes, then stream.
def frame(cap, sizes, stream):
    return bytes([cap, len(sizes)]) + bytes(s - 1 for s in sizes) + stream


lines = jsonrpc["initialize"] + b"\n" + jsonrpc["tools_call"] + b"\n"
framing = {
    "two_lines": frame(255, [], lines),
    "two_lines_chunked": frame(255, [7, 1, 64], lines),
    "crlf": frame(64, [3], b'{"a":1}\r\n{"b":2}\r\n'),
    "blank_lines": frame(64, [2, 5], b"\n\n  \t\n\r\none\n \r\n\ntwo"),
    "too_long": frame(16, [4], b"x" * 40 + b"\nshort\n" + b"y" * 17 + b"\n"),
    "cap_edge": frame(4, [1], b"abcd\nabcde\nabc\r\nabcd\r\n"),
    "unterminated": frame(32, [], b'{"jsonrpc":"2.0"}\n{"partial":'),
    "too_long_unterminated": frame(8, [3], b"ok\n" + b"z" * 30),
    "cap_zero": frame(0, [1], b"a\n\nb\n"),
    "cr_only": frame(10, [2], b"\r\n\r\r\n a\r\r\n"),
    "binary": frame(12, [5, 2], bytes(range(0, 256, 7)) + b"\n\xff\xfe\n"),
    "many_chunks": frame(200, [1, 2, 3, 4, 5, 6, 7, 8], lines * 2),
}

typed = {
    "call": j(CALL),
    "call_null_args": j({"name": "t", "arguments": None}),
    "call_extra": j({"name": "t", "arguments": [1, 2], "task": {"ttl": 60}, "n": 1.5e300}),
    "initialize": j(INIT),
    "initialize_minimal": j({"protocolVersion": "2024-11-05", "clientInfo": {"name": "c"}}),
    "initialize_extra": j({**INIT, "_meta": {"x": [True, None]}, "clientInfo": {
        "name": "c", "version": "1", "icons": [{"src": "data:"}], "websiteUrl": "https://x"}}),
    "tools_page": j({"tools": [TOOL, {"name": "b"}], "nextCursor": "abc", "_meta": {"k": 1}}),
    "tools_page_odd": j({"tools": [1, "x", None, {"name": "ok"}], "nextCursor": ""}),
    "resources_page": j({"resources": [{"uri": "file:///a.md", "name": "a", "mimeType": "text/markdown"}]}),
    "templates_page": j({"resourceTemplates": [{"uriTemplate": "file:///{path}", "name": "f"}],
                         "nextCursor": 5}),
    "prompts_page": j({"prompts": [{"name": "greet", "arguments": [{"name": "who", "required": True}]}]}),
    "numbers": b'{"name":"n","arguments":{"a":-0,"b":18446744073709551615,"c":-9223372036854775808,"d":0.1}}',
}

# mcp_http: a settings byte, then steps: op, header mask, header values, body (the layout is in
# fuzz_targets/mcp_http.rs). A header value is a canned index (int) or raw bytes.
HOST, ORIGIN, ACCEPT, CTYPE, SESSION, VERSION, LAST_EVENT_ID = range(7)
MCP, MESSAGES, HEALTH = 0, 2, 4
METHODS = ["initialize", "ping", "tools/list", "test/notify", "test/ask", "test/broadcast",
           "notifications/initialized", "notifications/cancelled", "tools/call", "roots/list"]
POST_HEADERS = {HOST: 0, ACCEPT: 0, CTYPE: 0}  # localhost:3000, json + sse, application/json


def step(method, route, headers, body, defer=False, which=0):
    op = {"POST": 0, "GET": 1, "DELETE": 2}[method] | route << 2 | (0x20 if defer else 0) | which << 6
    mask, values = 0, b""
    for h in sorted(headers):
        v = headers[h]
        mask |= 1 << h
        values += bytes([v]) if isinstance(v, int) else bytes([0x80 | len(v)]) + v
    return bytes([op, mask]) + values + body


def raw(data):
    return bytes([1]) + len(data).to_bytes(2, "little") + data


def msg(method, id=0, params=0, kind=0):
    """A built message: kind 0 request, 1 notification, 2 result, 3 error; params 0 none, else
    canned variant params - 1."""
    return bytes([METHODS.index(method) | kind << 5, id, params])


def built(m):
    return bytes([2]) + m


def batch(*ms):
    return bytes([3, len(ms) - 1]) + b"".join(ms)


def session(extra=None):
    return {**POST_HEADERS, SESSION: 0, **(extra or {})}


EMPTY = bytes([0])
init = step("POST", MCP, POST_HEADERS, raw(jsonrpc["initialize"]))
init_2025_03 = step("POST", MCP, POST_HEADERS, built(msg("initialize", 0, 3)))  # 2025-03-26
legacy_get = step("GET", MCP, {HOST: 1, ACCEPT: 2}, EMPTY)
mcp_http = {
    "initialize": b"\0" + init,
    "initialize_tools_list": b"\0" + init
    + step("POST", MCP, session({VERSION: 0}), built(msg("tools/list", 1))),
    "batch": b"\0" + init_2025_03
    + step("POST", MCP, session({VERSION: 2}),
           batch(msg("ping", 1), msg("notifications/initialized", kind=1), msg("tools/list", 0x82))),
    "notification": b"\0" + init + step("POST", MCP, session(), raw(jsonrpc["initialized"])),
    "client_response": b"\0" + init
    + step("POST", MCP, session(), built(msg("test/ask", 7, 5)), defer=True)
    + step("POST", MCP, session(), raw(b'{"jsonrpc":"2.0","id":1,"result":{"roots":[]}}')),
    "stream_notify": b"\0" + init + step("GET", MCP, {HOST: 0, ACCEPT: 2, SESSION: 0}, EMPTY)
    + step("POST", MCP, session(), built(msg("test/notify", 2)))
    + step("POST", MCP, session({ACCEPT: 1}), built(msg("test/broadcast", 3)))
    + step("DELETE", MCP, {HOST: 0, SESSION: 0}, EMPTY)
    + step("POST", MCP, session(), built(msg("ping", 4))),
    "malformed_json": b"\0" + init + step("POST", MCP, session(), raw(jsonrpc["not_json"])),
    "wrong_content_type": b"\x02" + step("POST", MCP, {**POST_HEADERS, CTYPE: 2}, raw(jsonrpc["initialize"]))
    + step("POST", MCP, POST_HEADERS, raw(b"[" + b"1," * 400 + b"1]")),
    "legacy_get": b"\0" + legacy_get
    + step("POST", MESSAGES, {HOST: 0, CTYPE: 0}, built(msg("initialize", 0, 4)))
    + step("POST", MESSAGES, {HOST: 0, CTYPE: 0}, built(msg("tools/list", 0x81)))
    + step("POST", MESSAGES, {HOST: 0, CTYPE: 0}, built(msg("test/ask", 2, 2)))
    + step("POST", MESSAGES, {HOST: 0, CTYPE: 0}, raw(b"{")),
    "broadcast": b"\0" + legacy_get + step("POST", MESSAGES, {}, built(msg("test/broadcast", 5)))
    + step("POST", MCP, POST_HEADERS, built(msg("initialize", 0, 1)))
    + step("GET", MCP, {ACCEPT: 2, SESSION: 0}, EMPTY)
    + step("POST", MCP, session(), built(msg("test/broadcast", 6))),
    # max 2 sessions, idle after 50 ms, SSE-only answers: the third initialize expires the others.
    "sse_only_expiry": b"\x05" + step("POST", MCP, {ACCEPT: 2}, built(msg("initialize", 0, 2)))
    + step("POST", MCP, {ACCEPT: 2}, built(msg("initialize", 0, 4)))
    + step("POST", MCP, session({ACCEPT: 2}), built(msg("test/ask", 9, 4)))
    + step("POST", MCP, {ACCEPT: 2}, built(msg("initialize", 0, 1)))
    + step("POST", MCP, session({ACCEPT: 2, SESSION: 1}), built(msg("ping", 10))),
    "guard_and_api": b"\x11" + step("GET", HEALTH, {HOST: 2}, EMPTY)
    + step("POST", MCP, {**POST_HEADERS, ORIGIN: 4}, raw(jsonrpc["initialize"]))
    + step("POST", MCP, {**POST_HEADERS, HOST: b"hub.internal:80", ORIGIN: 3}, built(msg("initialize", 0, 6))),
}

for target, seeds in [("jsonrpc_decode", jsonrpc), ("stdio_framing", framing), ("typed_views", typed),
                      ("mcp_http", mcp_http)]:
    d = ROOT / target
    d.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        (d / f"seed-{name}").write_bytes(data)
    print(f"{d}: {len(seeds)} seeds")
