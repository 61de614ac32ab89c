"""Ed25519 signatures of audit reports, with a key the auditor holds.

The signature covers the report's content hash (``content_sha256``: the result and the
reproducibility block), so an edited report whose hash was recomputed no longer carries a valid
signature. ``verify --public-key auditor.pub`` checks that the auditor's key signed it; the public
key stored inside the report only says which key did (anyone can sign with a key of their own).

Keys: ``keygen --out auditor.key`` writes the private key (PKCS#8 PEM, file mode 0600) and the
public key beside it (``auditor.pub``, SubjectPublicKeyInfo PEM). Signing uses the
``cryptography`` package.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Optional

from unlearn_core.errors import ConfigError
from unlearn_core.serialize import write_files_atomic

ALGORITHM = "Ed25519"
CONTEXT = b"unlearn_core audit report v1\n"  # what is signed: CONTEXT + content hash (hex)


def _crypto():
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:  # pinned in requirements.txt; a trimmed environment says so plainly
        raise ConfigError("signing needs the 'cryptography' package (pip install -r "
                          "requirements.txt)")
    return serialization, ed25519


def public_key_path(private: str | Path) -> Path:
    """Where ``keygen`` puts the public key of ``private``: ``auditor.key`` -> ``auditor.pub``."""
    p = Path(private)
    return p.with_suffix(".pub") if p.suffix != ".pub" else p.with_name(p.name + ".pub")


def key_id(raw_public: bytes) -> str:
    """A short name of a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(raw_public).hexdigest()[:16]


def generate_keypair(out: str | Path) -> tuple[Path, Path]:
    """Write a new Ed25519 private key to ``out`` (mode 0600, never over an existing file) and
    its public key beside it; return both paths."""
    serialization, ed25519 = _crypto()
    private_path, pub_path = Path(out).expanduser(), public_key_path(Path(out).expanduser())
    for p in (private_path, pub_path):
        if p.exists():
            raise ConfigError(f"'{p}' already exists: keygen does not overwrite a key")
        if not p.parent.is_dir():
            raise ConfigError(f"the folder '{p.parent}' does not exist")
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.chmod(private_path, 0o600)  # whatever the umask
    pub_path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path, pub_path


def load_private_key(path: str | Path):
    """An Ed25519 private key from a PEM file; one ``ConfigError`` for anything else."""
    serialization, ed25519 = _crypto()
    try:
        data = Path(path).expanduser().read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read signing key '{path}': {err.strerror}")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"'{path}' is not an unencrypted PEM private key "
                          f"({str(err).splitlines()[0] if str(err) else type(err).__name__})")
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ConfigError(f"'{path}' is not an Ed25519 key (make one with keygen)")
    return key


def load_public_key(path: str | Path) -> bytes:
    """The raw 32 bytes of an Ed25519 public key from a PEM file (``keygen``'s ``.pub``)."""
    from unlearn_core.report.envelope import read_regular

    serialization, ed25519 = _crypto()
    data = read_regular(path, "public key", 1 << 20)  # a FIFO or device never blocks verify
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise ConfigError(f"'{path}' is not a PEM public key (use the .pub that keygen wrote)")
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise ConfigError(f"'{path}' is not an Ed25519 public key")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def sign_payload(payload: dict, private_key) -> dict:
    """Add a ``signature`` block to a report payload over its content hash; return the block.
    A report whose content no longer matches its recorded hash is refused (signing it would
    vouch for an edit)."""
    from unlearn_core.report.envelope import content_hash

    serialization, _ = _crypto()
    digest = content_hash(payload)
    if payload.get("content_sha256") != digest:
        raise ConfigError("the report's content does not match its recorded SHA-256 (edited "
                          "after it was written): not signed")
    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw,
                                                serialization.PublicFormat.Raw)
    block = {"algorithm": ALGORITHM, "key_id": key_id(raw),
             "public_key": base64.b64encode(raw).decode(), "content_sha256": digest,
             "signature": base64.b64encode(private_key.sign(CONTEXT + digest.encode())).decode()}
    payload["signature"] = block
    return block


def check_signature(payload: dict, digest: str, trusted: Optional[bytes]) -> tuple[bool, str]:
    """Whether the report's signature is a valid Ed25519 signature of ``digest`` (the content
    hash recomputed from the report) by ``trusted`` (raw public key; ``None``: by the key the
    report names). Returns ``(ok, what)`` where ``what`` says what was found."""
    _, ed25519 = _crypto()
    from cryptography.exceptions import InvalidSignature

    block = payload.get("signature")
    if not isinstance(block, dict) or block.get("algorithm") != ALGORITHM:
        return False, "the signature block is not an Ed25519 signature"
    try:
        named = base64.b64decode(block["public_key"], validate=True)
        sig = base64.b64decode(block["signature"], validate=True)
        ed25519.Ed25519PublicKey.from_public_bytes(named)
    except (KeyError, TypeError, ValueError):
        return False, "the signature block cannot be read"
    if trusted is not None and named != trusted:
        return False, (f"the signature is by key {key_id(named)}, not by the --public-key "
                       f"given ({key_id(trusted)})")
    if block.get("content_sha256") != digest:
        return False, ("the signature does not cover this content: it was made over "
                       f"{str(block.get('content_sha256'))[:16]}..., the report's content now "
                       f"hashes to {digest[:16]}... (edited after signing)")
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(trusted or named).verify(
            sig, CONTEXT + digest.encode())
    except InvalidSignature:
        return False, "the signature is not valid for this content and key"
    return True, f"signed by key {key_id(named)}"


def sign_report_files(report: str | Path, private_key) -> dict:
    """Sign ``report`` (report.json) in place, and the report.html and report.pdf beside it
    when they embed the same report (their embedded JSON is replaced; what they show is
    unchanged). Returns the signature block."""
    import json

    from unlearn_core.report.envelope import embedded_payload, load_report, replace_embedded

    report = Path(report)
    payload = load_report(report)
    before = payload.get("content_sha256")
    block = sign_payload(payload, private_key)
    html = report.with_suffix(".html")
    page = html.read_text(encoding="utf-8") if html.is_file() else None
    if page is not None:
        try:
            if embedded_payload(page, f"'{html}'").get("content_sha256") != before:
                page = None  # another report's HTML: left alone
        except ConfigError:  # an HTML without an embedded report (earlier release)
            page = None
    pdf = report.with_suffix(".pdf")
    if pdf.is_file():
        from unlearn_core.report.envelope import pdf_payload
        from unlearn_core.report.pdf_embed import embed_report, read_pdf

        try:
            same = pdf_payload(read_pdf(pdf).attachments).get("content_sha256") == before
        except ConfigError:  # a PDF without an embedded report (earlier release)
            same = False
        if not same:
            pdf = None
    else:
        pdf = None
    files = {report: json.dumps(payload, indent=1)}
    if page is not None:
        files[html] = replace_embedded(page, payload)
    try:  # the signed JSON and HTML both or neither, each whole (a full disk, `ulimit -f`)
        write_files_atomic(files)
        if pdf is not None:
            embed_report(pdf, payload)
    except OSError as err:
        raise ConfigError(f"cannot write the signed report '{report}': "
                          f"{err.strerror or err}") from None
    return block


def signed_line(paths: dict, key_id: str) -> str:
    """What the command line says after ``sign_report_files``: every report file it signed
    (the JSON, the HTML and, when printed, the PDF) and the key."""
    names = [Path(paths[k]).name for k in ("json", "html", "pdf") if k in paths]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"signed {listed} with key {key_id}"
