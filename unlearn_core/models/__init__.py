"""Models: the architecture registry, training loops and safe save/load (safetensors + spec,
torch.export programs, TorchScript only for trusted local files: ``load_model_file``)."""

from unlearn_core.models.architectures import (
    ARCHITECTURES,
    Classifier,
    ModelSpec,
    build_model,
    register_architecture,
)
from unlearn_core.models.export import export_model, load_exported
from unlearn_core.models.files import load_model_file
from unlearn_core.models.io import (
    check_compatible,
    clone_model,
    load_model,
    load_torchscript,
    model_hash,
    save_model,
)
from unlearn_core.models.training import (
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
    "check_compatible", "clone_model", "export_model", "load_exported", "load_model",
    "load_model_file", "load_torchscript", "model_hash", "save_model",
    "TrainConfig", "accuracy", "default_train_config", "embed", "predict_logits",
    "predict_log_proba", "predict_proba", "train_epochs",
]
