"""A forged unlearner passes the naive check and is caught by the verdict's other checks."""

from unlearn_core import AuditConfig, MethodSpec, run_audit


def test_forged_passes_naive_checks_and_is_caught():
    run = run_audit(AuditConfig(dataset="digits", model="cnn", forget="class:3", seed=0,
                                methods=[MethodSpec("forged"), MethodSpec("finetune")]))
    res = run.result
    forged = next(e for e in res.methods if e.name == "forged")
    assert forged.accuracy.forget == 0.0  # the naive check: the exact inputs look forgotten
    # ...but unseen samples of the class are still recognised and the weights never moved
    retrained = res.retrain.accuracy.test_forgotten_classes
    assert forged.accuracy.test_forgotten_classes > 0.9 > retrained + 0.5
    closeness = next(c for c in res.closeness if c.name == "forged")
    verdict = next(v for v in res.verdicts if v.method == "forged")
    checks = {c.check: c for c in verdict.checks}
    assert checks["forget_accuracy"].passed  # fooled
    assert checks["forgotten_class_accuracy"].status == "fail"  # caught
    assert verdict.status == "fail"
    assert closeness.js_test > 0.05
