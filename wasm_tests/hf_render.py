"""Renders chat templates as Hugging Face's apply_chat_template does, for wasm_tests/chat.test.js.

Reads a JSON list of cases {template, messages, add_generation_prompt, variables, bos_token,
eos_token} on stdin and prints a JSON list of {"output": text} or {"error": message}: the same
environment as transformers (a sandboxed Jinja2 with trim_blocks, lstrip_blocks and loop
controls, its tojson filter, raise_exception and strftime_now) and the same context (messages,
tools=None, documents=None, add_generation_prompt, the special token texts, then the variables).
"""
import json
import sys
from datetime import datetime

from jinja2.exceptions import TemplateError
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(format):
    return datetime.now().strftime(format)


def render(case):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    context = {"messages": case["messages"], "tools": None, "documents": None,
               "add_generation_prompt": case.get("add_generation_prompt", True)}
    for name in ("bos_token", "eos_token"):
        if case.get(name) is not None:
            context[name] = case[name]
    context.update(case.get("variables", {}))
    try:
        return {"output": env.from_string(case["template"]).render(**context)}
    except TemplateError as error:
        return {"error": str(error)}


print(json.dumps([render(case) for case in json.load(sys.stdin)], ensure_ascii=False))
