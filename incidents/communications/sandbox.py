"""Communication templates in a sandbox: Django's template language, but only what text needs.

A dedicated Engine with none of Django's default tags or filters (only those in
incidents.communications.library), no loaders, no app libraries, autoescaping off (the output is
Markdown; it becomes HTML through core.rendering like every other text) and unknown
variables rendering as nothing. The context holds plain dicts, strings, numbers, dates and lists
of them, never model instances, so there is no object to walk out of.

Every template is checked when it is saved (check_template): it must compile, and each variable
it names, in output, conditions, loops, `with` and filter arguments, must be a documented
placeholder of its audience (incidents.communications.placeholders), with no underscore
attribute anywhere. The same check runs again before rendering, so a template changed behind
the forms' back fails as a clear error at generation, never as a leak.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import FilterExpression, Node, NodeList, TextNode, Variable, VariableNode
from django.template.defaulttags import CommentNode, ForNode, IfNode, TemplateLiteral, WithNode

from incidents.communications.placeholders import BY_NAME, is_public, placeholders_for

# What {{ forloop.x }} may read inside a loop.
FORLOOP_KEYS = frozenset({"counter", "counter0", "revcounter", "revcounter0", "first", "last"})
# Loops in loops multiply; the facts' lists are short, but three deep is never text.
MAX_LOOP_DEPTH = 2
# One rendering's loops together: at most this many turns, and fewer for a long template, so
# the text they write stays below OUTPUT_BUDGET characters (see _turns_for).
MAX_TURNS = 20_000
OUTPUT_BUDGET = 1_000_000
SUBJECT_MAX_LENGTH = 300


class _SandboxEngine(Engine):
    default_builtins: ClassVar[list[str]] = []


ENGINE = _SandboxEngine(
    dirs=[],
    app_dirs=False,
    loaders=[],
    libraries={},
    builtins=["incidents.communications.library"],
    autoescape=False,
    string_if_invalid="",
    debug=False,
)

# A bound name in a loop or `with`: the keys its value has (empty for plain text or a number).
_Scope = Mapping[str, tuple[str, ...]]


class _Checker:
    def __init__(self, audience: str) -> None:
        self.audience = audience
        self.public = is_public(audience)
        self.allowed = {p.name for p in placeholders_for(audience)}
        self.errors: list[str] = []

    def fail(self, message: str) -> None:
        if message not in self.errors:
            self.errors.append(message)

    # --- Nodes ----------------------------------------------------------------------------------

    def nodes(self, nodelist: NodeList, scope: _Scope, depth: int = 0) -> None:
        for node in nodelist:
            self.node(node, scope, depth)

    def node(self, node: Node, scope: _Scope, depth: int) -> None:
        if isinstance(node, (TextNode, CommentNode)):
            return
        if isinstance(node, VariableNode):
            self.expression(node.filter_expression, scope)
        elif isinstance(node, IfNode):
            for condition, nodelist in node.conditions_nodelists:
                if condition is not None:
                    self.condition(condition, scope)
                self.nodes(nodelist, scope, depth)
        elif isinstance(node, ForNode):
            self.loop(node, scope, depth)
        elif isinstance(node, WithNode):
            inner = dict(scope)
            for name, expression in node.extra_context.items():
                self.expression(expression, scope)
                inner[name] = self.keys_of(expression, scope)
            self.nodes(node.nodelist, inner, depth)
        else:  # the library allows no other tag; this is the belt to its braces
            self.fail(f"The {type(node).__name__} tag is not allowed in communication templates.")

    def loop(self, node: ForNode, scope: _Scope, depth: int) -> None:
        # Parsed, a loop holds an expression and node lists; the stubs allow raw strings too.
        assert isinstance(node.sequence, FilterExpression)
        assert isinstance(node.nodelist_loop, NodeList)
        assert isinstance(node.nodelist_empty, NodeList)
        self.expression(node.sequence, scope)
        variable = node.sequence.var
        lists = sorted(p.name for p in placeholders_for(self.audience) if p.many)
        if (
            node.sequence.filters
            or not isinstance(variable, Variable)
            or variable.lookups is None
            or len(variable.lookups) != 1
            or not getattr(BY_NAME.get(variable.lookups[0]), "many", False)
        ):
            # A loop over a literal or a text runs once per character: two nested over a long
            # literal took seconds. The lists are the facts' rows, bounded by the incident.
            self.fail(
                f"Loops go over a list placeholder ({', '.join(lists)}), without filters; "
                f"“{node.sequence.token}” is not one."
            )
            return
        if depth >= MAX_LOOP_DEPTH:
            self.fail(f"Loops may be nested at most {MAX_LOOP_DEPTH} deep.")
            return
        inner = dict(scope)
        keys = self.keys_of(node.sequence, scope, item=True)
        for name in node.loopvars:
            inner[name] = keys if len(node.loopvars) == 1 else ()
        inner["forloop"] = tuple(FORLOOP_KEYS)
        self.nodes(node.nodelist_loop, inner, depth + 1)
        self.nodes(node.nodelist_empty, scope, depth)

    def condition(self, token: Any, scope: _Scope) -> None:
        """An {% if %} condition: a tree of operators whose leaves are expressions."""
        if isinstance(token, TemplateLiteral):
            assert isinstance(token.value, FilterExpression)  # what the if-parser compiled
            self.expression(token.value, scope)
            return
        for part in (getattr(token, "first", None), getattr(token, "second", None)):
            if part is not None:
                self.condition(part, scope)

    # --- Expressions ----------------------------------------------------------------------------

    def expression(self, expression: FilterExpression, scope: _Scope) -> None:
        self.variable(expression.var, scope)
        for _func, arguments in expression.filters:
            for is_lookup, argument in arguments:
                if is_lookup:
                    self.variable(argument, scope)

    def variable(self, variable: Any, scope: _Scope) -> None:
        if not isinstance(variable, Variable) or variable.lookups is None:
            return  # a literal: "text", 3, _("text")
        lookups = variable.lookups
        path = ".".join(lookups)
        if any(part.startswith("_") or "__" in part for part in lookups):
            self.fail(_internals(path))
            return
        head, rest = lookups[0], lookups[1:]
        if head in scope:
            if rest and (len(rest) > 1 or rest[0] not in scope[head]):
                self.fail(self._no_key(path, head, scope[head]))
            return
        placeholder = BY_NAME.get(head)
        if placeholder is None:
            self.fail(self._unknown(path, head))
        elif head not in self.allowed:
            self.fail(
                f"“{head}” is internal and never reaches a public audience; use it in internal "
                "or executive templates only."
            )
        elif rest:
            self.fail(self._no_key(path, head, ()))

    def keys_of(self, expression: FilterExpression, scope: _Scope, *, item: bool = False) -> tuple:
        """The keys of what an expression names: a bound name's, or (item=True) those of the
        items of a list placeholder."""
        variable = expression.var
        if expression.filters or not isinstance(variable, Variable) or not variable.lookups:
            return ()
        head = variable.lookups[0]
        if len(variable.lookups) > 1:
            return ()
        if head in scope:
            return scope[head] if not item else ()
        placeholder = BY_NAME.get(head)
        return placeholder.item_keys if placeholder is not None and item else ()

    def _unknown(self, path: str, head: str) -> str:
        close = difflib.get_close_matches(head, sorted(self.allowed), n=1)
        hint = f" Did you mean “{close[0]}”?" if close else ""
        return f"Unknown placeholder “{path}”.{hint} The placeholders are listed beside the form."

    @staticmethod
    def _no_key(path: str, head: str, keys: tuple[str, ...]) -> str:
        if keys:
            return f"Unknown placeholder “{path}”: “{head}” has only {', '.join(sorted(keys))}."
        return f"Unknown placeholder “{path}”: “{head}” has no parts to look into."


def _internals(path: str) -> str:
    return (
        f"“{path}” reaches for Python internals; no placeholder or key has an underscore "
        "prefix or a double underscore."
    )


# Django refuses these itself while compiling; its message names the variable.
_UNDERSCORE = re.compile(r"^Variables and attributes may not begin with underscores: '(.*)'$")


def _compile(source: str) -> Template:
    try:
        return ENGINE.from_string(source)
    except TemplateSyntaxError as exc:
        underscore = _UNDERSCORE.match(str(exc))
        if underscore:
            raise ValidationError(_internals(underscore.group(1)), code="internals") from None
        raise ValidationError(f"Template syntax error: {exc}", code="syntax") from None


def check_template(source: str, *, audience: str) -> None:
    """Refuse a template that does not compile or names anything but its audience's
    placeholders; the ValidationError lists every problem found."""
    template = _compile(source)
    checker = _Checker(audience)
    checker.nodes(template.nodelist, {})
    if checker.errors:
        raise ValidationError(
            [ValidationError(message, code="placeholder") for message in checker.errors]
        )


class _OverBudget(Exception):
    pass


class _Budget:
    """How many loop turns one rendering may take, shared by all its loops."""

    def __init__(self, turns: int) -> None:
        self.turns = turns

    def spend(self) -> None:
        self.turns -= 1
        if self.turns < 0:
            raise _OverBudget


class _BudgetedList(list[Any]):
    """A fact's list that charges each turn of a loop over it to the rendering's budget. The
    for tag takes its len() and iterates it: both are a list's public face."""

    def __init__(self, items: list[Any], budget: _Budget) -> None:
        super().__init__(items)
        self.budget = budget

    def __iter__(self) -> Iterator[Any]:
        for item in super().__iter__():
            self.budget.spend()
            yield item


def _turns_for(source: str) -> int:
    # Each turn writes at most the template's text once more: the budget keeps the text written
    # below OUTPUT_BUDGET characters, and the turns below MAX_TURNS however short the template.
    return min(MAX_TURNS, max(1, OUTPUT_BUDGET // max(len(source), 1)))


def render_template(source: str, facts: Mapping[str, Any], *, audience: str) -> str:
    """Check, then render with `facts` (plain values only). Raises ValidationError, also when
    the loops would take more turns than the template's budget (_turns_for)."""
    check_template(source, audience=audience)
    budget = _Budget(_turns_for(source))
    context = {
        name: _BudgetedList(value, budget) if isinstance(value, list) else value
        for name, value in facts.items()
    }
    try:
        text = _compile(source).render(Context(context, autoescape=False))
    except _OverBudget:
        raise ValidationError(
            "The template's loops would write more than this incident needs; loop over fewer "
            "lists, or shorten what each turn writes.",
            code="too_long",
        ) from None
    if len(text) > settings.HINDSIGHT_MARKDOWN_MAX_LENGTH:
        raise ValidationError(
            f"The text would be {len(text)} characters long; the most is "
            f"{settings.HINDSIGHT_MARKDOWN_MAX_LENGTH}.",
            code="too_long",
        )
    return text


def render_subject(source: str, facts: Mapping[str, Any], *, audience: str) -> str:
    """A subject is one line: whitespace collapsed, cut at the model's length."""
    text = " ".join(render_template(source, facts, audience=audience).split())
    return text[:SUBJECT_MAX_LENGTH]
