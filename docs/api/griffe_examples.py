"""Griffe extension for the API site: lamina's docstrings title their doctest blocks
``Example:``; Google style's section for doctests is ``Examples:`` (``Example:`` is an
admonition, whose ``>>>`` lines would render as quotes and ``x[0]`` as a broken link)."""

import re

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", flags=re.M)


class ExampleSections(griffe.Extension):
    """Rename ``Example:`` section titles to ``Examples:`` before the docstring is parsed."""

    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
