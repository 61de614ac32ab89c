"""The text track's claim audit on the command line: ``text-audit --original DIR --claimed DIR
[--claimed DIR2] --recipe text_recipe.yaml [--fit-originals K]`` (``audit`` hands the same flags
over when the data or model is text): the flags, and the ``TextClaimSpec`` they make."""

from __future__ import annotations

import argparse

from unlearn_core.errors import ConfigError

CLAIM_FLAGS = ("original", "claimed", "recipe", "fit_originals")


def add_text_claim_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of a text claim audit (docs/claims.md, "Language models")."""
    p.add_argument("--original", default=None,
                   help="claim audit: the original causal LM folder (config.json, "
                        "*.safetensors, tokenizer.json), trained on --data (or the built-in "
                        "facts of --seed)")
    p.add_argument("--claimed", action="append", default=None,
                   help="claim audit: a claimed unlearned model folder (same architecture and "
                        "tokenizer as the original); repeat for several")
    p.add_argument("--recipe", default=None,
                   help="YAML or JSON file of how the original (a claim's, or --model) was "
                        "trained (optimizer adamw, lr, epochs, batch_size, weight_decay, "
                        "warmup_share, seed): the retrains train with it")
    p.add_argument("--fit-originals", dest="fit_originals", type=int, default=None,
                   help="claim audit: originals trained with the recipe to check that it "
                        "reproduces the original (default 3)")


def text_claim_from_args(args: argparse.Namespace):
    """The ``TextClaimSpec`` of the claim flags, or None when none is given. A claim audit
    takes its original from --original and its training from --recipe, so --model, --epochs,
    --lr and --width are refused beside them."""
    from unlearn_core.text.claim import TextClaimSpec, validate_text_claim

    given = {k: getattr(args, k, None) for k in CLAIM_FLAGS}
    if all(v is None for k, v in given.items() if k != "recipe"):
        return None  # no claim; a --recipe alone is how the audited model was trained
    for flag, why in (("model", "the original is --original"),
                      ("epochs", "the recipe (--recipe) declares how the original was trained"),
                      ("lr", "the recipe (--recipe) declares how the original was trained"),
                      ("width", "the architecture is the original folder's")):
        if getattr(args, flag, None) is not None:
            raise ConfigError(f"--{flag} does not apply to a claim audit: {why}")
    if given["original"] is None:
        raise ConfigError("a claim audit needs --original DIR: the original model folder, with "
                          "--claimed DIR and --recipe FILE")
    claim = TextClaimSpec(original=given["original"], claimed=list(given["claimed"] or []),
                          recipe=given["recipe"] or "",
                          fit_originals=3 if given["fit_originals"] is None
                          else given["fit_originals"])
    validate_text_claim(claim)
    return claim


__all__ = ["CLAIM_FLAGS", "add_text_claim_arguments", "text_claim_from_args"]
