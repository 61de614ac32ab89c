"""Models: the architecture registry, training loops and safe save/load."""

from .architectures import ARCHITECTURES, Classifier, ModelSpec, build_model, register_architecture
from .io import check_compatible, clone_model, load_model, load_torchscript, model_hash, save_model
from .training import (
    TrainConfig,
    accuracy,
    default_train_config,
    embed,
    predict_log_proba,
    predict_logits,
    predict_proba,
    train_epochs,
)

__all__ = [
    "ARCHITECTURES", "Classifier", "ModelSpec", "build_model", "register_architecture",
    "check_compatible", "clone_model", "load_model", "load_torchscript", "model_hash", "save_model",
    "TrainConfig", "accuracy", "default_train_config", "embed", "predict_logits",
    "predict_log_proba", "predict_proba", "train_epochs",
]
