#!/usr/bin/env python3
"""Drives the hub's MCP features with the official Python MCP SDK (PyPI `mcp`, pinned in xtask):
progress, log messages, sampling, elicitation, roots, completion and resource subscriptions, from
one or more client sessions at once, recording everything the SDK's callbacks see.

Usage: features_client.py PLAN_JSON
  PLAN_JSON: {"clients": [CLIENT, ...]}, every client connected and run concurrently, each its own
  MCP session:
  CLIENT: {"name": "A", "url": ".../mcp", "transport": "http"|"sse", "mode": "legacy"|"auto",
           "sampling": true, "elicitation": true, "roots": [{"uri": "file:///x", "name": "x"}],
           "steps": [STEP, ...]}
    (a callback is installed, and so the capability declared, only when its key is given)
  STEP, run in order:
    {"op": "call", "tool": NAME, "args": {...}, "progress": true}  tools/call (progress callback?)
    {"op": "set_level", "level": "error"}                         logging/setLevel
    {"op": "subscribe" | "unsubscribe", "uri": URI}
    {"op": "complete", "prompt": NAME, "argument": NAME, "value": PREFIX}
    {"op": "list_tools"}
    {"op": "barrier", "name": N}     wait until every client with this barrier reaches it
    {"op": "signal", "name": N}      print {"signal": N} on its own line (for the test to react)
    {"op": "wait"}                   read one line from stdin (the test says go on)
    {"op": "sleep", "seconds": S}
  Every step may carry "settle": seconds to wait after it (default 0.2 after a call), so that
  messages that trail a result are counted with the step that caused them.

Prints {"clients": {NAME: {"protocol", "instructions", "results": [one per step], "events":
[{"step": i, "kind": "progress"|"log"|"sampling"|"elicitation"|"roots"|"notification", ...}]}}}
as the last line; exits 0 unless the SDK raised.
"""
import asyncio
import json
import sys

import mcp_types as types
from mcp import Client
from mcp.client.sse import sse_client


def texts(blocks):
    return [getattr(b, "text", None) or b.type for b in blocks]


class Barriers:
    """In-process barriers between the clients of one plan."""

    def __init__(self, clients):
        self.parties = {}
        for c in clients:
            for s in c.get("steps", []):
                if s.get("op") == "barrier":
                    self.parties[s["name"]] = self.parties.get(s["name"], 0) + 1
        self.arrived = {name: 0 for name in self.parties}
        self.events = {name: asyncio.Event() for name in self.parties}

    async def wait(self, name):
        self.arrived[name] += 1
        if self.arrived[name] >= self.parties[name]:
            self.events[name].set()
        await asyncio.wait_for(self.events[name].wait(), 30)


async def read_stdin_line():
    return await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


async def run_client(spec, barriers):
    name = spec["name"]
    record = {"results": [], "events": []}
    step_no = {"i": -1}

    def event(kind, **fields):
        record["events"].append({"step": step_no["i"], "kind": kind, **fields})

    async def on_sampling(_ctx, params):
        prompt = " ".join(getattr(m.content, "text", "") or "" for m in params.messages)
        event("sampling", prompt=prompt, max_tokens=params.max_tokens)
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=f"{name} answers {prompt!r}"),
            model=f"features-client-{name}",
        )

    async def on_elicitation(_ctx, params):
        event("elicitation", message=getattr(params, "message", None))
        return types.ElicitResult(action="accept", content={"username": name, "email": f"{name}@example.test"})

    async def on_roots(_ctx):
        event("roots")
        return types.ListRootsResult(roots=[types.Root(uri=r["uri"], name=r.get("name")) for r in spec["roots"]])

    async def on_log(params):
        event("log", level=params.level, data=params.data, logger=params.logger)

    async def on_message(message):
        if isinstance(message, Exception):
            event("exception", error=repr(message))
            return
        root = getattr(message, "root", message)
        method = getattr(root, "method", None)
        if method in ("notifications/message", "notifications/progress"):
            return  # the typed callbacks record these
        params = getattr(root, "params", None)
        dumped = params.model_dump(mode="json", by_alias=True, exclude_none=True) if params is not None else None
        event("notification", method=method, params=dumped)

    target = sse_client(spec["url"]) if spec.get("transport") == "sse" else spec["url"]
    kwargs = {
        "mode": spec.get("mode", "legacy"),
        "logging_callback": on_log,
        "message_handler": on_message,
        "cache": None,
    }
    if spec.get("sampling"):
        kwargs["sampling_callback"] = on_sampling
    if spec.get("elicitation"):
        kwargs["elicitation_callback"] = on_elicitation
    if spec.get("roots") is not None:
        kwargs["list_roots_callback"] = on_roots

    async with Client(target, **kwargs) as c:
        record["protocol"] = c.protocol_version
        record["instructions"] = c.instructions
        for i, step in enumerate(spec.get("steps", [])):
            step_no["i"] = i
            op = step["op"]
            result = None
            settle = step.get("settle", 0.0)
            if op == "call":
                settle = step.get("settle", 0.2)

                async def progress(p, total, message, i=i):
                    record["events"].append({"step": i, "kind": "progress", "progress": p, "total": total,
                                             "message": message})

                r = await c.call_tool(step["tool"], step.get("args", {}),
                                      progress_callback=progress if step.get("progress") else None)
                result = {"is_error": bool(r.is_error), "text": texts(r.content)}
            elif op == "set_level":
                await c.set_logging_level(step["level"])
            elif op == "subscribe":
                await c.subscribe_resource(step["uri"])
            elif op == "unsubscribe":
                await c.unsubscribe_resource(step["uri"])
            elif op == "complete":
                r = await c.complete(types.PromptReference(type="ref/prompt", name=step["prompt"]),
                                     {"name": step["argument"], "value": step.get("value", "")})
                result = {"values": r.completion.values, "has_more": r.completion.has_more}
            elif op == "list_tools":
                result = [t.name for t in (await c.list_tools()).tools]
            elif op == "barrier":
                await barriers.wait(step["name"])
            elif op == "signal":
                print(json.dumps({"signal": step["name"], "client": name}), flush=True)
            elif op == "wait":
                await read_stdin_line()
            elif op == "sleep":
                await asyncio.sleep(step["seconds"])
            else:
                raise ValueError(f"unknown op {op!r}")
            if settle:
                await asyncio.sleep(settle)
            record["results"].append(result)
    return name, record


async def main(plan):
    clients = plan["clients"]
    barriers = Barriers(clients)
    done = await asyncio.gather(*(run_client(c, barriers) for c in clients))
    print(json.dumps({"clients": dict(done)}), flush=True)


asyncio.run(main(json.loads(sys.argv[1])))
