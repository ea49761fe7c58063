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

for target, seeds in [("jsonrpc_decode", jsonrpc), ("stdio_framing", framing), ("typed_views", typed)]:
    d = ROOT / target
    d.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        (d / f"seed-{name}").write_bytes(data)
    print(f"{d}: {len(seeds)} seeds")
