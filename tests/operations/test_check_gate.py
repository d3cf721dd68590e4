"""The CI gate reads check results: ERROR failures and checks that never ran fail; WARN reports."""

from __future__ import annotations

import dagster as dg
import pytest

from twotower_assets.operations import check_gate, contiguous_ranges


@dg.asset
def good_table() -> None:
    return None


@dg.asset
def doubtful_table() -> None:
    return None


@dg.asset_check(asset=good_table)
def always_true() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


@dg.asset_check(asset=doubtful_table)
def rejected_rows_are_few() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False, severity=dg.AssetCheckSeverity.WARN, description="3 rejected"
    )


@dg.asset_check(asset=doubtful_table)
def counts_reconcile() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, description="accepted + rejected != file")


def _defs(*checks: dg.AssetChecksDefinition) -> dg.Definitions:
    return dg.Definitions(assets=[good_table, doubtful_table], asset_checks=list(checks))


def test_warning_is_reported_but_does_not_fail(capsys: pytest.CaptureFixture[str]) -> None:
    defs = _defs(always_true, rejected_rows_are_few)
    with dg.instance_for_test() as instance:
        dg.materialize(
            [good_table, doubtful_table, always_true, rejected_rows_are_few], instance=instance
        )
        failures = check_gate(defs, instance)
    assert failures == []
    printed = capsys.readouterr().out
    assert "WARN" in printed and "doubtful_table:rejected_rows_are_few" in printed
    assert "3 rejected" in printed


def test_error_failure_fails_the_gate() -> None:
    defs = _defs(always_true, counts_reconcile)
    with dg.instance_for_test() as instance:
        dg.materialize(
            [good_table, doubtful_table, always_true, counts_reconcile], instance=instance
        )
        failures = check_gate(defs, instance)
    assert [(f.check, f.status) for f in failures] == [("counts_reconcile", "failed")]


def test_a_check_that_never_ran_fails_the_gate() -> None:
    defs = _defs(always_true, counts_reconcile)
    with dg.instance_for_test() as instance:
        dg.materialize([good_table, always_true], instance=instance)
        failures = check_gate(defs, instance)
    assert [(f.check, f.status) for f in failures] == [("counts_reconcile", "not run")]


def test_contiguous_slice_keys_become_ranges() -> None:
    keys = ["0-999", "1000-1999", "2000-2999", "5000-5999", "6000-6999", "9000-9999"]
    assert contiguous_ranges(keys) == [
        ("0-999", "2000-2999"),
        ("5000-5999", "6000-6999"),
        ("9000-9999", "9000-9999"),
    ]
