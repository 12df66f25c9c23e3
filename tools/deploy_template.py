"""A Serverless Devs template as `s deploy` renders it.

`s` (Serverless Devs 3, the version the Makefile installs) reads the settings from its own environment plus a
`.env` file beside the template (and one in each function's code folder, which `make package` never
writes), parsed by dotenv 16 and expanded by dotenv-expand 10; a variable set in the shell wins over the same
name in `.env`. It then substitutes the template's `${...}` expressions:
`${env('NAME')}` is the variable, and an error when it is unset or empty; `${env('NAME', 'default')}` falls
back to the default; `${vars.key}` is the template's `vars` entry, itself resolved first. Those are the only
forms our templates use. tests/contract/test_serverless_devs.py holds this module to the real `s preview`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

EXPRESSION = re.compile(r"\$\{(.*?)\}")
ENV_CALL = re.compile(r"^env\('([A-Za-z_][A-Za-z0-9_]*)'(?:,\s*'([^']*)')?\)$")
VARS_REF = re.compile(r"^vars\.([A-Za-z_][A-Za-z0-9_]*)$")

# dotenv 16.3.1's line grammar (`lib/main.js`, LINE), as `s` 3.1.10 bundles it.
_DOTENV_LINE = re.compile(
    r"^\s*(?:export\s+)?([A-Za-z0-9_.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*\"(?:\\\"|[^\"])*\"|\s*`(?:\\`|[^`])*`"
    r"|[^#\r\n]+)?\s*(?:#.*)?$",
    re.MULTILINE,
)
_DOTENV_QUOTED = re.compile(r"^(['\"`])([\s\S]*)\1$", re.MULTILINE)
# dotenv-expand 10: `$NAME`, `${NAME}` or `${NAME:-default}`, not preceded by a backslash.
_UNESCAPED_DOLLAR = re.compile(r"(?<!\\)\$")
_EXPANSION = re.compile(r"((?<!\\)\${?([A-Za-z0-9_]+)(?::-([^}\\]*))?}?)")


class TemplateError(Exception):
    """The template cannot be rendered or deployed as it stands; the message says why."""


def load_template(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def parse_dotenv(text: str) -> dict[str, str]:
    """dotenv 16.3.1's `parse`: KEY=VALUE lines, optional `export`, quotes, `#` comments; later lines win."""
    parsed: dict[str, str] = {}
    for match in _DOTENV_LINE.finditer(text.replace("\r\n", "\n").replace("\r", "\n")):
        value = (match.group(2) or "").strip()
        quote = value[:1]
        value = _DOTENV_QUOTED.sub(r"\2", value)
        if quote == '"':
            value = value.replace("\\n", "\n").replace("\\r", "\r")
        parsed[match.group(1)] = value
    return parsed


def _interpolate(value: str, environ: Mapping[str, str], parsed: Mapping[str, str]) -> str:
    """dotenv-expand 10's `interpolate`: expand from the last unescaped `$` leftwards."""
    positions = [match.start() for match in _UNESCAPED_DOLLAR.finditer(value)]
    if not positions:
        return value
    found = _EXPANSION.search(value[positions[-1] :])
    if found is None:
        return value
    whole, name, default = found.groups()
    replacement = environ.get(name) or default or parsed.get(name) or ""
    return _interpolate(value.replace(whole, replacement, 1), environ, parsed)


def deploy_environment(template: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables `s` sees: `environ` plus the `.env` beside the template, `environ` winning, expanded."""
    dotenv = template.parent / ".env"
    if not dotenv.is_file():
        return dict(environ)
    parsed = parse_dotenv(dotenv.read_text())
    # In file order, each expansion seeing the ones before it (dotenv-expand rewrites its `parsed` in place).
    for name, value in parsed.items():
        parsed[name] = _interpolate(environ.get(name, value), environ, parsed).replace("\\$", "$")
    return {**environ, **parsed}


def resolve(node: Any, env: Mapping[str, str], variables: Mapping[str, Any], *, strict: bool = True) -> Any:
    """Substitute every `${...}` in the node. A required variable that is unset or empty is a TemplateError
    when `strict` (as `s` stops), else the empty string (to measure what can be measured)."""
    if isinstance(node, dict):
        return {key: resolve(value, env, variables, strict=strict) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(item, env, variables, strict=strict) for item in node]
    if not isinstance(node, str):
        return node
    return EXPRESSION.sub(lambda match: str(_evaluate(match.group(1), env, variables, strict)), node)


def _evaluate(expression: str, env: Mapping[str, str], variables: Mapping[str, Any], strict: bool) -> Any:
    if call := ENV_CALL.match(expression):
        name, default = call.groups()
        if env.get(name):
            return env[name]
        if default is not None:
            return default
        if strict:
            raise TemplateError(f"env('{name}') not found")
        return ""
    if ref := VARS_REF.match(expression):
        return variables[ref.group(1)]
    raise TemplateError(f"an expression this renderer does not know: ${{{expression}}}")


def env_references(node: Any) -> Iterator[tuple[str, str | None]]:
    """Every `${env(...)}` in the node: (name, default or None)."""
    if isinstance(node, dict):
        for value in node.values():
            yield from env_references(value)
    elif isinstance(node, list):
        for item in node:
            yield from env_references(item)
    elif isinstance(node, str):
        for expression in EXPRESSION.findall(node):
            if call := ENV_CALL.match(expression):
                yield call.group(1), call.group(2)


def render(template: Mapping[str, Any], env: Mapping[str, str], *, strict: bool = True) -> dict[str, Any]:
    """The template with `vars` resolved, then `resources` (which may name `vars`)."""
    variables = resolve(template.get("vars", {}), env, {}, strict=strict)
    return {**template, "vars": variables, "resources": resolve(template["resources"], env, variables, strict=strict)}
