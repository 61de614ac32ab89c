"""Setup: pick or upload a dataset and a model, train or load the baseline."""

import time
import warnings

import plotly.graph_objects as go
import streamlit as st

from pages.csv_view import csv_column_choices
from pages.shared import (
    builtin_dataset,
    model_store,
    progress_bar,
    show_error,
    switch_data,
    workspace,
)
from unlearn_core.audit.run import train_baseline
from unlearn_core.data import (
    BUILTIN_DATASETS,
    load_cifar_binary,
    load_csv,
    load_image_zip,
    load_npz,
    load_parquet,
    make_splits,
)
from unlearn_core.data.id_columns import IdColumnWarning
from unlearn_core.data.selection import ForgetSelection
from unlearn_core.device import DEVICES, check_device, use_device
from unlearn_core.errors import DataError, ModelError, UnlearnError
from unlearn_core.metrics import confusion_matrix
from unlearn_core.models import (
    ARCHITECTURES,
    accuracy,
    check_compatible,
    default_train_config,
    load_model_file,
)
from unlearn_core.report.build import data_record

# weights: safetensors or a weights-only state dict (.pt / .pth); a torch.export program
# (.pt2). TorchScript (.pt / .ts) is accepted by the uploader only to be refused by name: it
# carries code (``models.io.TORCHSCRIPT_REFUSED``)
WEIGHT_TYPES = ["safetensors", "pt", "pth", "pt2", "ts"]
# data files: NPZ, CSV, image ZIP, Parquet, CIFAR-10 binary (.bin, or the .tar.gz it ships in)
DATA_TYPES = ["npz", "csv", "zip", "parquet", "bin", "gz", "tgz", "tar"]
IMAGE_ARCHS = ("cnn", "resnet18", "vit")

ws = workspace()
st.title("Setup")
st.caption("Choose the data and the model to audit. The default (digits + CNN) is one click.")
loaded_slot = st.empty()  # what is loaded, filled once this run's loading is done
# the choices start from what is loaded: Streamlit forgets a page's widgets when another page
# runs, and defaults of digits / cnn would then contradict the loaded data and the sidebar
loaded_builtin = ws.source in BUILTIN_DATASETS or not ws.ready
for wkey, value in (("setup_source", "Built-in" if loaded_builtin else "Upload"),
                    ("setup_dataset", ws.source if ws.source in BUILTIN_DATASETS else None),
                    ("setup_arch", ws.arch if ws.ready else None),
                    ("setup_seed", ws.seed if ws.ready else None),
                    ("setup_device", ws.device if ws.ready else None)):
    if value is not None and wkey not in st.session_state:
        st.session_state[wkey] = value

source = st.radio("Data", ["Built-in", "Upload"], horizontal=True, key="setup_source")
col1, col2, col3 = st.columns(3)
upload = label_col = None
id_col, drop_cols = None, []  # a CSV's id column ("" for row numbers) and dropped columns
if source == "Built-in":
    name = col1.selectbox("Dataset", BUILTIN_DATASETS, key="setup_dataset",
                          help="digits: 8x8 images; breast_cancer, wine: tabular; digits28: "
                               "50,000 generated 28x28 images (slower); shapes32: 50,000 "
                               "generated 32x32 colour images, CIFAR-sized (for resnet18 / "
                               "vit; slow on a CPU)")
else:
    upload = col1.file_uploader("Dataset file", type=DATA_TYPES, key="setup_upload",
                                help="NPZ with X, y (ids, class_names optional); CSV with a "
                                     "label column; ZIP with one folder of images per class; "
                                     "Parquet with a label column and numeric or image "
                                     "columns; CIFAR-10 binary (data_batch_N.bin, or "
                                     "cifar-10-binary.tar.gz)")
    label_col = col1.text_input("CSV / Parquet label column", value="label", key="setup_label")
    name = upload.name if upload is not None else None
    if upload is not None and upload.name.lower().endswith(".csv"):
        id_col, drop_cols = csv_column_choices(upload, label_col, col1)
st.session_state.setdefault("setup_arch", "cnn")
arch = col2.selectbox("Model", sorted(ARCHITECTURES), key="setup_arch",
                      help="cnn for images; resnet18 (CIFAR stem) or vit for 32x32 colour "
                           "images (slow on a CPU); mlp or logreg for tabular data")
seed = int(col3.number_input("Seed", min_value=0, step=1, key="setup_seed"))
device = col3.selectbox("Device", DEVICES, key="setup_device",
                        help="where models train and predict: auto takes CUDA when a GPU is "
                             "present, else the CPU; cuda without a GPU is refused")

with st.expander("Bring your own trained model (optional)"):
    st.caption("Safetensors weights + JSON spec (as written by `save_model`; ResNet-18 "
               "weights in torchvision's or pytorch-cifar's key layout load as they are), a "
               "weights-only PyTorch state dict + spec, or a torch.export program (.pt2, checked "
               "against its allow list before loading). Uploaded files are never unpickled and "
               "never run: TorchScript is refused (deprecated by torch, and it carries code).")
    weights_file = st.file_uploader("Weights (.safetensors / .pt) or a torch.export program "
                                    "(.pt2)", type=WEIGHT_TYPES, key="setup_weights")
    spec_file = st.file_uploader("Spec (.json); leave empty for .pt2",
                                 type=["json"], key="setup_spec")


def load_data():
    if source == "Built-in":
        return builtin_dataset(name, seed), name
    if upload is None:
        raise DataError("upload a dataset file first (.npz, .csv, .zip, .parquet or CIFAR-10 "
                        ".bin / .tar.gz)")
    data = upload.getvalue()
    lower = upload.name.lower()
    if lower.endswith(".parquet"):
        return load_parquet(data, label_column=label_col or None, name=upload.name), upload.name
    if lower.endswith((".bin", ".tar", ".tar.gz", ".tgz")):
        return load_cifar_binary(data, name=upload.name), upload.name
    if upload.name.lower().endswith(".csv"):
        return load_csv(data, label_column=label_col, name=upload.name, id_column=id_col,
                        drop_columns=drop_cols), upload.name
    if upload.name.lower().endswith(".zip"):
        return load_image_zip(data, name=upload.name), upload.name
    if upload.name.lower().endswith(".npz"):
        return load_npz(data, name=upload.name), upload.name
    raise DataError(f"unsupported file type '{upload.name}': use .npz, .csv, .zip, .parquet "
                    "or CIFAR-10 .bin / .tar.gz")


failed = False  # an error in this run hides the previous setup's figures
if st.button("Load data and train the baseline", type="primary", key="setup_go"):
    try:
        check_device(device)  # "cuda" without a GPU: one error line, before any work
        with warnings.catch_warnings(record=True) as caught:  # an id column taken: said below
            warnings.simplefilter("always", IdColumnWarning)
            dataset, label = load_data()
        for w in caught:
            if issubclass(w.category, IdColumnWarning):
                st.warning(str(w.message), icon=":material/badge:")
        if arch in IMAGE_ARCHS and dataset.kind != "image":
            raise ModelError(f"the {arch} needs image data; this dataset is tabular: "
                             "pick mlp or logreg")
        splits = make_splits(dataset, seed)
        recipe = default_train_config(arch, dataset.name, len(splits.train))
        if weights_file is not None:
            # an upload is never trusted: TorchScript (code) is refused, with the alternatives
            model = load_model_file(weights_file.getvalue(),
                                    spec_file.getvalue() if spec_file is not None else None,
                                    name=weights_file.name, trust_code=False)
            check_compatible(model, dataset.sample_shape, dataset.n_classes,
                             probe=dataset.X[splits.train[:32]])
            seconds = 0.0
        else:
            key = (dataset.fingerprint(), arch, seed, repr(recipe), device)
            store = model_store()
            if key not in store:
                update, bar = progress_bar("training the baseline")
                t0 = time.perf_counter()
                with use_device(device):
                    store[key] = (train_baseline(dataset, splits, arch, recipe, seed, update),
                                  time.perf_counter() - t0)
                bar.empty()
            model, seconds = store[key]
        switch_data(ws, dataset)  # the previous data set's audits are shelved, not shown
        ws.dataset, ws.splits, ws.baseline, ws.arch, ws.seed = dataset, splits, model, arch, seed
        tabular_file = upload is not None and upload.name.lower().endswith((".csv", ".parquet"))
        ws.data_options = {"label_column": label_col if tabular_file else None,
                           "id_column": id_col, "drop_columns": list(drop_cols)}
        ws.recipe, ws.source, ws.baseline_seconds = recipe, label, seconds
        ws.device = device
        ws.source_bytes = upload.getvalue() if upload is not None else None  # its SHA-256
        # goes into the report, which verify checks the file against
        ws.baseline_origins[id(model)] = {"source": "trained here"} if weights_file is None \
            else data_record(weights_file.name, weights_file.getvalue())  # for the report
        ws.selection, ws.seen_selections, ws.open_sample = ForgetSelection(), set(), None
        st.success(f"Ready: {label} with {len(dataset)} samples, model {arch}.")
    except UnlearnError as err:
        failed = True
        show_error(err)
    except Exception as err:  # a bug: shown in the page, the session and its results stay
        failed = True
        show_error(err)

if ws.ready:
    loaded_slot.info(f"Loaded now: **{ws.source}** · model `{ws.arch}` · seed {ws.seed}",
                     icon=":material/check_circle:")
if ws.ready and failed:
    st.caption(f"Nothing new was loaded: **{ws.source}** with model `{ws.arch}` is still the "
               "setup in use. Fix the problem above and load again.")
elif ws.ready:
    ds, sp = ws.dataset, ws.splits
    train_acc = accuracy(ws.baseline, ds.subset(sp.train))
    test_acc = accuracy(ws.baseline, ds.subset(sp.test))
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Train accuracy", f"{100 * train_acc:.1f}%")
    c2.metric("Test accuracy", f"{100 * test_acc:.1f}%")
    c3.metric("Training samples", f"{len(sp.train)}",
              help=f"{len(sp.test)} test and {len(sp.population)} population samples are held "
                   "out; membership attacks use the population as known non-members")
    c4.metric("Training time", f"{ws.baseline_seconds:.1f} s")
    st.subheader("Confusion matrix (test split)")
    cm = confusion_matrix(ws.baseline, ds.subset(sp.test), ds.n_classes)
    fig = go.Figure(go.Heatmap(z=cm, x=ds.class_names, y=ds.class_names, colorscale="Blues",
                               text=cm, texttemplate="%{text}", showscale=False))
    fig.update_layout(xaxis=dict(title="predicted", type="category", dtick=1), height=420,
                      yaxis=dict(title="true", type="category", dtick=1, autorange="reversed"),
                      margin=dict(t=10, b=10))
    st.plotly_chart(fig, key="setup_confusion")
    st.caption("Good: a strong diagonal. Next, choose what to forget on the **Forget set** page.")
    st.page_link("pages/forget.py", label="Choose the forget set", icon=":material/arrow_forward:")
