"""Marker stripping: both syntaxes, stub placement and the errors authors must see."""

from __future__ import annotations

import ast
import textwrap

import pytest

from autograder.authoring.markers import (
    END_BANNER,
    START_BANNER,
    AuthoringError,
    scan,
    strip_cell,
    strip_python,
)


def _source(body: str) -> str:
    """Dedent a test source and expand the START/END placeholders into the exact banners."""
    return (
        textwrap.dedent(body)
        .lstrip("\n")
        .replace("<START>", START_BANNER)
        .replace("<END>", END_BANNER)
    )


METHOD = _source(
    """
    import numpy as np


    class Net:
        def loss(self, X):
            out = None
            <START>
            hidden = np.maximum(0, X @ self.W)
            out = hidden.sum()
            <END>
            return out
    """
)


def _run_stub(text: str, call: str) -> NotImplementedError:
    namespace: dict = {}
    exec(compile(text, "<stripped>", "exec"), namespace)
    with pytest.raises(NotImplementedError) as caught:
        eval(call, namespace)
    return caught.value


def test_banner_region_in_method_keeps_banners_and_indents_stub() -> None:
    stripped = strip_python(METHOD, "pkg/net.py")
    lines = stripped.text.split("\n")
    start = lines.index("        " + START_BANNER)
    assert lines[start + 2] == "        " + END_BANNER
    assert lines[start + 1].startswith("        raise NotImplementedError(")
    assert "np.maximum" not in stripped.text and "hidden" not in stripped.text
    assert "return out" in stripped.text
    ast.parse(stripped.text)
    (region,) = stripped.regions
    assert (region.qualname, region.start, region.end) == ("Net.loss", 7, 10)
    assert region.body == (
        "        hidden = np.maximum(0, X @ self.W)",
        "        out = hidden.sum()",
    )


def test_stub_message_names_function_and_file() -> None:
    stripped = strip_python(METHOD, "pkg/net.py")
    error = _run_stub(stripped.text, "Net().loss(None)")
    message = str(error)
    assert message.startswith("Net.loss: not implemented yet")
    assert "START/END OF YOUR CODE" in message and "pkg/net.py" in message


def test_nbgrader_markers_are_removed_and_region_stubbed() -> None:
    text = _source(
        """
        def f(x):
            if x > 0:
                ### BEGIN SOLUTION
                return x * 2
                ### END SOLUTION
            return 0
        """
    )
    stripped = strip_python(text, "m.py")
    assert "BEGIN SOLUTION" not in stripped.text and "x * 2" not in stripped.text
    assert "\n        raise NotImplementedError(" in stripped.text
    assert "not implemented" in str(_run_stub(stripped.text, "f(1)"))
    assert stripped.regions[0].kind == "nbgrader"


def test_empty_region_at_end_of_function_still_gets_a_stub_in_that_function() -> None:
    text = _source(
        """
        def g():
            x = 1
            <START>
            <END>
        """
    )
    stripped = strip_python(text, "m.py")
    assert stripped.regions[0].qualname == "g"
    assert "g: not implemented" in str(_run_stub(stripped.text, "g()"))


def test_nested_functions_get_innermost_qualname() -> None:
    text = _source(
        """
        class A:
            class B:
                def outer(self):
                    def inner():
                        <START>
                        return 1
                        <END>
                    return inner
        """
    )
    assert strip_python(text, "m.py").regions[0].qualname == "A.B.outer.inner"


def test_text_without_markers_is_unchanged() -> None:
    text = "def f():\n    #                 END OF YOUR CODE                 #\n    return 1\n"
    assert strip_python(text, "m.py").text == text


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        ("def f():\n    <START>\n    return 1\n", 2, "without a closing"),
        ("def f():\n    return 1\n    <END>\n", 3, "without an opening"),
        ("def f():\n    <START>\n    <START>\n    <END>\n    <END>\n", 3, "nested"),
        ("def f():\n    ### BEGIN SOLUTION\n    x = 1\n    <END>\n", 4, "different marker"),
        ("def f():\n    ### END SOLUTION\n", 2, "without an opening"),
    ],
)
def test_unbalanced_and_nested_markers_name_file_and_line(
    body: str, line: int, fragment: str
) -> None:
    with pytest.raises(AuthoringError) as caught:
        strip_python(_source(body), "pkg/layers.py")
    assert (caught.value.path, caught.value.line) == ("pkg/layers.py", line)
    assert fragment in caught.value.message
    assert str(caught.value).startswith(f"pkg/layers.py:{line}: ")


@pytest.mark.parametrize(
    "misspelt",
    [
        START_BANNER.replace("*****START", "****START"),
        END_BANNER.replace(")*****", ")****"),
        START_BANNER.replace("# *", "#*"),
        START_BANNER.replace("DELETE/MODIFY", "DELETE/ MODIFY"),
        "# *****start of your code (DO NOT DELETE/MODIFY THIS LINE)*****",
        "## BEGIN SOLUTION",
        "### Begin Solution",
        "### END  SOLUTION",
    ],
)
def test_misspelt_marker_is_an_error(misspelt: str) -> None:
    text = f"def f():\n    x = 1\n    {misspelt}\n    return x\n"
    with pytest.raises(AuthoringError) as caught:
        scan(text, "pkg/layers.py")
    assert caught.value.line == 3 and "spelt" in caught.value.message


def test_cs231n_box_comment_is_not_mistaken_for_a_banner() -> None:
    text = _source(
        """
        def f():
            ###########################################################################
            # TODO: Implement the forward pass.                                       #
            ###########################################################################
            <START>
            y = 2
            <END>
            ###########################################################################
            #                             END OF YOUR CODE                            #
            ###########################################################################
            return y
        """
    )
    assert [region.start for region in scan(text, "m.py")] == [5]


def test_region_outside_a_function_is_refused_in_py_files() -> None:
    for body in ("<START>\nX = 1\n<END>\n", "class C:\n    <START>\n    x = 1\n    <END>\n"):
        with pytest.raises(AuthoringError, match="outside a function"):
            strip_python(_source(body), "m.py")


def test_region_that_cuts_a_statement_is_reported() -> None:
    text = _source(
        """
        def f():
            total = (1 +
            <START>
                2)
            <END>
            return total
        """
    )
    with pytest.raises(AuthoringError, match="does not parse") as caught:
        strip_python(text, "m.py")
    assert caught.value.line == 3


def test_reference_that_does_not_parse_is_reported() -> None:
    with pytest.raises(AuthoringError, match="reference does not parse"):
        strip_python(_source("def f(:\n    <START>\n    x = 1\n    <END>\n"), "m.py")


def test_notebook_cell_allows_module_level_regions_and_magics() -> None:
    source = _source(
        "%matplotlib inline\nimport numpy as np\n<START>\nanswer = np.ones(3)\n<END>\nprint(answer)"
    )
    stripped = strip_cell(source, "HW.ipynb", "cell 4")
    assert stripped.text.startswith("%matplotlib inline\n")
    assert "np.ones" not in stripped.text
    assert 'raise NotImplementedError("cell 4: not implemented yet' in stripped.text
