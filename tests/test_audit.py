"""grade audit: the deep-learning mutation operators, mutants only inside solution regions, and a
small audit graded in the sandbox (killed, surviving and declared-equivalent mutants; resume)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from cosmic_ray.mutating import mutate_code
from grading_helpers import cli_args

import autograder.authoring.audit as audit
from autograder.assignment import load_assignment
from autograder.authoring.markers import scan
from autograder.cli import main

SNIPPET = """\
def f(x, dout, w, N, mode, stride, pad, momentum, reg, W, v, eps, r, m):
    db = dout.sum(axis=(0, 2, 3))
    dx = np.tensordot(dout, w, axes=([1], [0]))
    y = x.transpose(1, 0, 2)
    window = x[:, :, i * stride:i * stride + 3]
    loss = total / N
    loss += 0.5 * reg * np.sum(W * W)
    std = np.sqrt(v + eps)
    if mode == 'train':
        r = momentum * r + (1 - momentum) * m
    out = conv(x, stride=stride)
    return np.pad(x, pad)
"""


def _all(operator_cls) -> set[str]:
    """Every changed line the operator makes in SNIPPET."""
    lines = set()
    for occurrence in range(50):
        mutated = mutate_code(SNIPPET, operator_cls(), occurrence)
        if mutated is None:
            break
        lines |= {b.strip() for a, b in zip(SNIPPET.splitlines(), mutated.splitlines(), strict=True) if a != b}
    return lines


@pytest.mark.parametrize(("operator", "expected"), [
    (audit.SwapAxes, {"db = dout.sum(axis=(1, 2, 3))", "dx = np.tensordot(dout, w, axes=([0], [1]))",
                      "y = x.transpose(0, 1, 2)"}),
    (audit.SliceEnd, {"window = x[:, :, i * stride:i * stride + 3 + 1]", "window = x[:, :, i * stride:i * stride + 3 - 1]"}),
    (audit.DropDivision, {"loss = total"}),
    (audit.DropHalf, {"loss += reg * np.sum(W * W)"}),
    (audit.IgnoreStridePad, {"window = x[:, :, i * 1:i * stride + 3]", "window = x[:, :, i * stride:i * 1 + 3]",
                             "out = conv(x, stride=1)", "return np.pad(x, 0)"}),
    (audit.StdForVar, {"std = (v + eps)"}),
    (audit.SwapMode, {"if mode == 'test':"}),
    (audit.SwapMomentum, {"r = momentum * r + (momentum) * m"}),
])  # fmt: skip
def test_deep_learning_operators(operator, expected: set[str]) -> None:
    assert _all(operator) == expected


@pytest.fixture(scope="module")
def hw5():
    return load_assignment("hw5_cnn")


@pytest.fixture(scope="module")
def hw5_mutants(hw5):
    return audit.mutants_of(hw5)


def test_mutants_live_only_in_solution_regions_and_compile(hw5, hw5_mutants) -> None:
    regions = {}
    for spec in hw5.files:
        if spec.kind == "python":
            text = (hw5.reference_dir / spec.dest).read_text(encoding="utf-8")
            regions[spec.name] = [(r.start, r.end) for r in scan(text, spec.name)]
    assert len({m.id for m in hw5_mutants}) == len(hw5_mutants) > 100
    for mutant in hw5_mutants:
        assert any(start < mutant.line < end for start, end in regions[mutant.file]), mutant
        compile(mutant.code, mutant.id, "exec")
        assert mutant.diff.count("\n-") >= 1 and mutant.diff.count("\n+") >= 1
    functions = {m.function for m in hw5_mutants}
    assert {"conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive", "max_pool_backward_naive",
            "ThreeLayerConvNet.__init__", "ThreeLayerConvNet.loss"} <= functions  # fmt: skip
    assert {m.operator.split("/")[0] for m in hw5_mutants} == {"core", "dl"}


@pytest.mark.bwrap
def test_small_audit_kills_survives_declares_and_resumes(hw5, tmp_path, monkeypatch) -> None:
    """Pool-forward mutants graded on Q3 are killed; graded only on Q1 (the conv) they survive,
    which is what a gap in the checks looks like; a declared equivalent leaves the score's base."""
    pool = audit.AuditScope(seed=3, questions=("Q3",), functions=("max_pool_forward_naive",), operators=("dl/Slice",))
    killed = audit.run_audit(hw5, tmp_path / "q3", pool, jobs=2)
    assert killed.graded_now == len(killed.mutants) == 4
    assert {o.status for o in killed.outcomes.values()} == {"killed"}
    assert all(o.lost.get("Q3", 0) > 0 for o in killed.outcomes.values())
    assert audit.run_audit(hw5, tmp_path / "q3", pool, jobs=2).graded_now == 0  # resumed from its state

    blind = audit.AuditScope(seed=3, questions=("Q1",), functions=("max_pool_forward_naive",), operators=("dl/Slice",))
    first = audit.run_audit(hw5, tmp_path / "q1", blind, jobs=2)
    assert len(first.survivors) == 4 and first.score() == 0.0
    declared = first.survivors[0]
    monkeypatch.setattr(audit, "equivalents", lambda _: {declared.id: "kept for the test"})
    second = audit.run_audit(hw5, tmp_path / "q1", blind, jobs=2)
    assert second.graded_now == 0 and second.outcomes[declared.id].status == "equivalent"
    text = audit.write_markdown(second, tmp_path / "audit.md").read_text(encoding="utf-8")
    assert "## Surviving mutants (3)" in text and "## Equivalent mutants (1)" in text and "kept for the test" in text
    assert "```diff" in text and "+ 1" in text


def test_cli_lists_mutants(hw5_mutants) -> None:
    run = CliRunner().invoke(main, cli_args(*["audit", "--list", "--function", "max_pool_forward_naive", "--operator", "dl/"]))
    assert run.exit_code == 0, run.output
    listed = [line.split()[0] for line in run.output.splitlines()]
    expected = [m.id for m in hw5_mutants if m.function == "max_pool_forward_naive" and m.operator.startswith("dl/")]
    assert listed == expected and listed
