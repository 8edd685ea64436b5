"""Review: a template must not be able to take the hub down by building huge values.

Failed before the guard: each of these allocated gigabytes (or computed a number with billions of
digits) inside the event loop, which freezes or OOM-kills the hub. Now each is a TemplateError that
names the limit, in well under a second.
"""

from __future__ import annotations

import time

import pytest

from streamops.templates import Template, TemplateError

pytestmark = pytest.mark.timeout(30)

HOSTILE = [
    "{{ 'a' * 10**10 }}",
    "{{ 10**10 * 'a' }}",
    "{{ [0] * 10**10 }}",
    "{{ 10 ** (10 ** 9) }}",
    "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}",
    "{% set ns = namespace(n=3) %}{% for i in range(40) %}{% set ns.n = ns.n * ns.n %}{% endfor %}{{ ns.n > 0 }}",
    "{{ '%9999999999s' % 1 }}",
    "{{ '%*d' % (9999999999, 1) }}",
    "{{ '{:>9999999999}'.format(1) }}",
    "{{ '{:>{}}'.format(1, 9999999999) }}",
    "{{ 'x'.ljust(10**10) }}",
    "{{ 'x'.center(10**10) }}",
    "{{ 'x' | center(10**10) }}",
    "{{ 'x' | indent(10**10, true) }}",
    "{{ '%9999999999s' | format(1) }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_resource_hungry_templates_fail_fast_with_a_clear_error(text: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateError, match=r"too large|not allowed|more than"):
        Template(text).render()
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ 'ab' * 3 }}", "ababab"),
        ("{{ 2 ** 64 }}", 2**64),
        ("{{ 7 * 6 }}", 42),
        ("{{ 'a' ~ 'b' + 'c' }}", "abc"),
        ("{{ '%05.1f' % 3.14159 }}", "003.1"),
        ("{{ '{:>6}'.format('x') }}", "     x"),
        ("{{ 'x' | center(5) }}", "  x  "),
        ("{{ '%s-%s' | format('a', 'b') }}", "a-b"),
        ("{{ range(3) | list }}", [0, 1, 2]),
        ("{% for i in range(1000) %}{% for j in range(500) %}{% endfor %}{% endfor %}ok", "ok"),
    ],
)
def test_ordinary_templates_still_work(text: str, expected: object) -> None:
    assert Template(text).render() == expected
