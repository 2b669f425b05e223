"""The one line format every benchmark prints: a figure, its baseline from the same run,
their ratio, the target and PASS/FAIL."""

from __future__ import annotations


def line(name: str, value: str, baseline: str, ratio: float, target: str,
         ok: bool | None) -> str:
    """`ok` None: a figure printed for information, with no target to pass or fail."""
    verdict = "PASS" if ok else "FAIL"
    return f"{name:<26} {value:>16}  baseline {baseline:>16}  ratio {ratio:6.2f}  " + \
        (f"target {target:<10} {verdict}" if ok is not None else target)
