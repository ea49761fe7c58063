#!/usr/bin/env python3
"""Drives the hub's /mcp endpoint with the official Python MCP SDK (PyPI `mcp`, pinned in xtask).

Usage: hub_client.py URL TRANSPORT PLAN_JSON
  TRANSPORT: "http" (streamable HTTP) or "sse" (legacy HTTP+SSE)
  PLAN_JSON: {"mode": "auto"|"legacy", "calls": [[tool, args], ...],
              "read": [uri, ...], "prompts": [[name, args], ...]}
Prints one JSON object with what the server listed and answered; exits 0 unless the SDK raised.
"""
import asyncio
import json
import sys

from mcp import Client
from mcp.client.sse import sse_client


def texts(blocks):
    return [getattr(b, "text", None) or b.type for b in blocks]


async def main(url, transport, plan):
    target = sse_client(url) if transport == "sse" else url
    out = {}
    async with Client(target, mode=plan.get("mode", "auto")) as c:
        out["protocol"] = c.protocol_version
        out["server"] = c.server_info.name if c.server_info else None
        out["tools"] = [t.name for t in (await c.list_tools()).tools]
        out["resources"] = [r.uri for r in (await c.list_resources()).resources]
        out["templates"] = [t.uri_template for t in (await c.list_resource_templates()).resource_templates]
        out["prompts"] = [p.name for p in (await c.list_prompts()).prompts]
        out["calls"] = []
        for name, args in plan.get("calls", []):
            r = await c.call_tool(name, args)
            out["calls"].append({"name": name, "is_error": bool(r.is_error), "text": texts(r.content),
                                 "structured": r.structured_content})
        out["reads"] = []
        for uri in plan.get("read", []):
            r = await c.read_resource(uri)
            out["reads"].append([getattr(x, "text", None) for x in r.contents])
        out["prompt_results"] = []
        for name, args in plan.get("prompts", []):
            r = await c.get_prompt(name, args)
            out["prompt_results"].append([getattr(m.content, "text", None) for m in r.messages])
    print(json.dumps(out))


asyncio.run(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3])))
