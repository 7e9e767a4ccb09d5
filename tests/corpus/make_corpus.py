"""Regenerate the hostile-input corpus: `python tests/corpus/make_corpus.py` from the repo.

Deterministic: the same inputs give the same bytes (fixed zip timestamps, no randomness).
Bundles are mutations of the independent implementation's known-answer vectors in
`../shared/vectors/` (payment-2of4.foureyes and rejected-2of4.foureyes), named here as
their source; everything else is written by hand below. Each case states the outcome we
expect, and this script writes them all to `expected.toml`, which tests/test_corpus.py
reads. Inputs too big to commit (a 1 GiB file, a 1.4-million-entry directory) are made at
test time instead (tests/test_verify_hostile.py).
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import sys
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
VECTORS = REPO.parent / "shared" / "vectors"
_EPOCH = (1980, 1, 1, 0, 0, 0)

CASES: list[dict] = []


def case(kind: str, name: str, data: bytes, *, exit: int, code: str | None, why: str,
         reader: str | None = None) -> None:
    folder = {"bundle": "bundles", "policy": "policies", "trust": "trust",
              "document": "documents"}[kind]
    ext = {"bundle": ".foureyes", "policy": ".toml", "trust": ".toml",
           "document": ".json"}[kind]
    path = HERE / folder / (name + ext)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    row = {"file": f"{folder}/{name}{ext}", "kind": kind, "exit": exit, "why": why}
    if code is not None:
        row["code"] = code
    if reader is not None:
        row["reader"] = reader
    CASES.append(row)


def zip_of(members: list[tuple[str, bytes]] | dict[str, bytes], *, method=zipfile.ZIP_DEFLATED,
           attrs: dict[str, int] | None = None) -> bytes:
    out = io.BytesIO()
    items = members.items() if isinstance(members, dict) else members
    with zipfile.ZipFile(out, "w") as z:
        for name, data in items:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = method
            info.external_attr = (attrs or {}).get(name, 0o100644 << 16)
            z.writestr(info, data)
    return out.getvalue()


def renamed(members: dict[str, bytes], old: str, new: bytes) -> bytes:
    placeholder = "Q" * len(new)
    data = zip_of({(placeholder if k == old else k): v for k, v in members.items()})
    return data.replace(placeholder.encode(), new)


def deflated(content: bytes, finish: bool = True) -> bytes:
    """Raw deflate, as a zip holds it; unfinished: flushed but without its final block."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    return z.compress(content) + z.flush(zlib.Z_FINISH if finish else zlib.Z_SYNC_FLUSH)


def local_record(f: dict, packed: bytes) -> bytes:
    """A local file header with the fields of `f`, its name and extra, then the data."""
    return struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, f["flags"], f["method"], 0, 33, f["crc"],
                       f["csize"], f["usize"], len(f["name"]), len(f["extra"])) + f["name"] \
        + f["extra"] + packed


def raw_zip(members: dict[str, bytes], changes: dict[str, dict] | None = None) -> bytes:
    """A zip written field by field, so a case can make a member's local header, directory
    entry and data disagree. Per member name, `changes` may give "packed" (the data as
    stored), "both" / "local" / "central" (header fields: flags, method, crc, csize, usize,
    name, extra), "before" and "after" (bytes put ahead of its local header or after its
    data), "at" (no local record of its own: the directory points at this offset)."""
    out, directory = bytearray(), bytearray()
    for name, content in members.items():
        c = (changes or {}).get(name, {})
        packed = c.get("packed", deflated(content))
        f = {"flags": 0, "method": 8, "crc": zlib.crc32(content), "csize": len(packed),
             "usize": len(content), "name": name.encode(), "extra": b"", **c.get("both", {})}
        loc, cen = {**f, **c.get("local", {})}, {**f, **c.get("central", {})}
        out += c.get("before", b"")
        offset = c.get("at", len(out))
        if "at" not in c:
            out += local_record(loc, packed) + c.get("after", b"")
        directory += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 0x0314, 20, cen["flags"],
                                 cen["method"], 0, 33, cen["crc"], cen["csize"], cen["usize"],
                                 len(cen["name"]), len(cen["extra"]), 0, 0, 0,
                                 0o100644 << 16, offset) + cen["name"] + cen["extra"]
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members),
                      len(directory), len(out), 0)
    return bytes(out + directory + end)


def streamed_zip(members: dict[str, bytes]) -> bytes:
    """What zipfile writes to a pipe: zero CRC and sizes in each local header, flag bit 3,
    and a data descriptor (with its signature) after each member's data."""

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b) -> int:
            self.data += b
            return len(b)

    pipe = Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            with z.open(info, "w") as w:
                w.write(content)
    return bytes(pipe.data)


def patch_directory(data: bytes, name: bytes, offset: int, fmt: str, value: int) -> bytes:
    b = bytearray(data)
    pos = b.find(b"PK\x01\x02")
    while pos >= 0:
        n = struct.unpack_from("<H", b, pos + 28)[0]
        if bytes(b[pos + 46:pos + 46 + n]) == name:
            struct.pack_into(fmt, b, pos + offset, value)
            return bytes(b)
        pos = b.find(b"PK\x01\x02", pos + 4)
    raise KeyError(name)


def patch_end(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    b = bytearray(data)
    pos = b.rfind(b"PK\x05\x06")
    struct.pack_into(fmt, b, pos + offset, value)
    return bytes(b)


def canon(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def with_entry(members: dict[str, bytes], line: int, entry: bytes) -> dict[str, bytes]:
    lines = members["log/entries.jsonl"].decode().splitlines()
    obj = json.loads(lines[line])
    obj["entry"] = entry.decode()
    lines[line] = json.dumps(obj)
    return {**members, "log/entries.jsonl": ("\n".join(lines) + "\n").encode()}


POLICY_HEAD = ('schema = "foureyes.policy/v1"\nname = "corpus"\ndefault = "deny"\n'
               'ttl = "30m"\n\n')


def policy_rule(line: str) -> bytes:
    text = POLICY_HEAD + f'[[rules]]\nroute = "payments.*"\n{line}\n'
    if not line.startswith("approvals"):
        text += "approvals = 2\n"
    return text.encode()


DEEP_ARRAYS = b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n"
DEEP_TABLES = b"a = " + b"{b=" * 3000 + b"1" + b"}" * 3000 + b"\n"
DEEP_DOTTED = b"a" + b".a" * 5000 + b" = 1\n"
DEEP_HEADER = b"[" + b"a." * 5000 + b"a]\nb = 1\n"


def bundles() -> None:
    v = (VECTORS / "payment-2of4.foureyes").read_bytes()
    with zipfile.ZipFile(io.BytesIO(v)) as z:
        m = {n: z.read(n) for n in z.namelist()}
    rv = (VECTORS / "rejected-2of4.foureyes").read_bytes()
    with zipfile.ZipFile(io.BytesIO(rv)) as z:
        rm = {n: z.read(n) for n in z.namelist()}
    one = lambda name, data, code, why, exit=1: case(  # noqa: E731
        "bundle", name, data, exit=exit, code=code, why=why)

    one("not-a-zip", b"hello, auditor\n", None, "no zip at all", exit=2)
    one("empty", b"", None, "an empty file", exit=2)
    one("truncated", v[:len(v) // 2], None, "cut in half: no end record", exit=2)
    one("end-record-only", b"PK\x05\x06" + b"\x00" * 18, "archive",
        "an empty zip: required entries missing")
    one("prepended-script", b"#!/bin/sh\nexit 0\n" + v, "archive", "data before the zip")
    one("trailing-garbage", v + b"trailing garbage", "archive", "data after the zip")
    one("trailing-zeros", v + b"\x00" * 512, "archive", "zero padding after the zip")
    one("zip-comment", patch_end(v, 20, "<H", 4) + b"note", "archive",
        "a zip comment nobody checks")
    one("version-6-4", patch_directory(v, b"proposal.json", 6, "<H", 64), "archive",
        "needs zip 6.4 (zipfile raises NotImplementedError)")
    one("method-lzma", patch_directory(v, b"receipt.json", 10, "<H", 14), "archive",
        "LZMA compression")
    one("method-99", patch_directory(v, b"receipt.json", 10, "<H", 99), "archive",
        "AES (method 99)")
    one("encrypted-flag", patch_directory(v, b"policy.toml", 8, "<H", 1), "archive",
        "marked encrypted")
    one("multi-disk", patch_end(v, 4, "<H", 1), "archive", "claims a second disk")
    one("count-lies", patch_end(patch_end(v, 8, "<H", 11), 10, "<H", 11), "archive",
        "the end record counts 11 entries, the directory holds 12")
    one("zip64-count", patch_end(patch_end(v, 8, "<H", 0xFFFF), 10, "<H", 0xFFFF), "archive",
        "a zip64 entry count")
    one("name-nul", renamed(m, "allowed_signers", b"allowed_signers\x00.sh"), "archive",
        "NUL in a name (zipfile truncates at it)")
    one("name-newline", renamed(m, "allowed_signers", b"allowed\nsigners"), "archive",
        "newline in a name")
    one("name-non-ascii", renamed(m, "allowed_signers", b"allowed_sign\xc3\xa9rs"), "archive",
        "non-ASCII name")
    one("name-dotdot", zip_of({**m, "../evil": b"x"}), "archive", "climbing path")
    one("name-absolute", zip_of({**m, "/etc/passwd": b"x"}), "archive", "absolute path")
    one("name-backslash", zip_of({**m, "decisions\\1.json": b"x"}), "archive", "backslash")
    one("directory-entry", zip_of({**m, "decisions/": b""}), "archive", "directory entry")
    one("symlink", zip_of(m, attrs={"allowed_signers": 0o120777 << 16}), "archive",
        "a symbolic link member")
    one("duplicate-name", zip_of([*m.items(), ("proposal.json", b"{}")]), "archive",
        "proposal.json twice")
    one("unknown-member", zip_of({**m, "notes.txt": b"hello"}), "archive", "not in SPEC §8")
    one("missing-checkpoint", zip_of({k: x for k, x in m.items() if k != "log/checkpoint"}),
        "archive", "a required entry missing")
    one("decision-gap", zip_of({**m, "decisions/4.json": m["decisions/1.json"],
                                "decisions/4.json.sig": m["decisions/1.json.sig"]}),
        "archive", "decisions 1, 2, 4")
    one("seventy-entries", zip_of({f"decisions/{i}.json": b"{}" for i in range(1, 71)}),
        "archive", "more than 64 entries")
    one("member-over-1mib", zip_of({**m, "allowed_signers": b"#" * (1024 * 1024 + 1)}),
        "archive", "one member over 1 MiB")
    one("deflate-bomb", zip_of({**m, "receipt.json": b"0" * (50 * 1024 * 1024)}), "archive",
        "50 MiB of zeros deflated to ~50 KB")
    bad_crc = bytearray(zip_of(m, method=zipfile.ZIP_STORED))
    at = bytes(bad_crc).find(b'"schema":"foureyes.proposal/v1"')
    bad_crc[at + 2] ^= 0x20
    one("bad-crc", bytes(bad_crc), "archive", "stored data that fails its CRC")
    # Our own member reader (no zipfile): each member is read where the directory says,
    # and its local header, data and descriptor must agree with the directory.
    sig = m["allowed_signers"]
    one("local-name-differs", raw_zip(m, {"allowed_signers": {"local": {
        "name": b"allowed_signerz"}}}), "archive", "the local header names another file")
    one("local-size-differs", raw_zip(m, {"allowed_signers": {"local": {
        "csize": len(deflated(sig)) + 1}}}), "archive",
        "local header and directory give other compressed sizes (zipfile read only one)")
    one("local-method-differs", raw_zip(m, {"allowed_signers": {"local": {"method": 0}}}),
        "archive", "stored in the local header, deflated in the directory")
    one("local-flags-differ", raw_zip(m, {"allowed_signers": {"local": {"flags": 0x0800}}}),
        "archive", "other flags in the local header")
    one("size-lies-crc-right", raw_zip(m, {"allowed_signers": {"both": {
        "usize": len(sig) + 1000}}}), "archive",
        "claims 1000 bytes more than it inflates to; CRC right (zipfile accepted it)")
    one("deflate-crc-wrong", raw_zip(m, {"allowed_signers": {"both": {
        "crc": zlib.crc32(sig) ^ 1}}}), "archive", "deflated data that fails its CRC")
    one("deflate-unfinished", raw_zip(m, {"allowed_signers": {
        "packed": deflated(sig, finish=False)}}), "archive",
        "a deflate stream with no final block; CRC right (zipfile accepted it)")
    cover = len(deflated(m["log/proofs.json"])) + 30 + len(b"log/proofs.json")
    one("overlapping-members", raw_zip(m, {"log/entries.jsonl": {"both": {
        "csize": len(deflated(m["log/entries.jsonl"])) + cover}}}), "archive",
        "a member's compressed size covers the next member (a quoted-overlap zip bomb)")
    hidden = raw_zip({"decisions/3.json": m["decisions/1.json"]})
    one("hidden-member-in-a-gap", raw_zip(m, {"allowed_signers": {
        "before": hidden[:hidden.index(b"PK\x01\x02")]}}), "archive",
        "a local entry the directory does not list: a streaming unzip would see it")
    one("extra-field-damaged", raw_zip(m, {"allowed_signers": {"both": {
        "extra": b"\xfe\xca\x04\x00data"}, "central": {"extra": b"\xfe\xca\x09\x00data"}}}),
        "archive", "an extra record longer than the extra field")
    one("patched-data-flag", raw_zip(m, {"allowed_signers": {"both": {"flags": 0x20}}}),
        "archive", "compressed patch data (zipfile raised NotImplementedError)")
    one("stored-sizes-differ", raw_zip(m, {"allowed_signers": {
        "packed": sig + b"junk", "both": {"method": 0, "csize": len(sig) + 4}}}), "archive",
        "stored with 4 bytes more than its size (zipfile ignored them)")
    proofs = m["log/proofs.json"]
    record = local_record({"flags": 0, "method": 8, "crc": zlib.crc32(proofs),
                           "csize": len(deflated(proofs)), "usize": len(proofs),
                           "name": b"log/proofs.json", "extra": b""}, deflated(proofs))
    inner = {**{k: x for k, x in m.items() if k != "log/proofs.json"}, "log/proofs.json": proofs}
    stored = {"allowed_signers": {"packed": record, "both": {"method": 0}}}
    first = raw_zip({**inner, "allowed_signers": record}, stored)
    one("member-inside-another", raw_zip({**inner, "allowed_signers": record}, {
        **stored, "log/proofs.json": {"at": first.index(record)}}), "archive",
        "a stored member holds another member's whole record: both read, from one place")
    streamed = bytearray(streamed_zip(m))
    one("data-descriptors", bytes(streamed), None,
        "what zipfile writes to a pipe (data descriptors): still valid", exit=0)
    at = streamed.index(b"PK\x07\x08", streamed.index(b"allowed_signers"))
    streamed[at + 4] ^= 1
    one("data-descriptor-lies", bytes(streamed), "archive",
        "a data descriptor whose CRC disagrees with the directory (zipfile never read it)")
    one("event-type-list", zip_of(with_entry(m, 0, canon(
        {"schema": "foureyes.event/v1", "type": ["proposal.submitted"],
         "at": "2026-11-24T09:30:00Z"}))), "format", "an unhashable event type")
    proofs = json.loads(m["log/proofs.json"])
    one("proofs-superscript-key", zip_of({**m, "log/proofs.json": json.dumps(
        {**proofs, "²": next(iter(proofs.values()))}).encode()}), "format",
        '"²".isdigit() is True; int("²") raises')
    one("proofs-too-many", zip_of({**m, "log/proofs.json": json.dumps(
        {str(i): [] for i in range(5000)}).encode()}), "format", "5000 proofs")
    one("entries-too-many", zip_of({**m, "log/entries.jsonl": "".join(
        f'{{"entry":"","index":{i}}}\n' for i in range(5000)).encode()}), "format",
        "5000 log lines")
    one("entries-not-utf8", zip_of({**m, "log/entries.jsonl": b"\xff\xfe\n"}), "format",
        "log lines that are not UTF-8")
    for label, text in (("arrays", DEEP_ARRAYS), ("tables", DEEP_TABLES),
                        ("dotted", DEEP_DOTTED), ("header", DEEP_HEADER)):
        one(f"policy-deep-{label}", zip_of({**m, "policy.toml": text}), "format",
            f"policy.toml nested {label} (RecursionError or quadratic tomllib)")
    many = m["policy.toml"] + "".join(
        f'\n[[rules]]\nroute = "zz{i}.*"\napprovals = 1\n' for i in range(20000)).encode()
    many = many[:1024 * 1024]
    one("policy-20000-rules", zip_of({**m, "policy.toml": many[:many.rindex(b"\n[[rules]]")]}),
        "format", "thousands of rules: cost 14-19 s of CPU before the limit")
    one("policy-nan-threshold", zip_of({**m, "policy.toml": m["policy.toml"].replace(
        b"gte = 50000", b"gte = nan")}) if b"gte = 50000" in m["policy.toml"] else
        zip_of({**m, "policy.toml": m["policy.toml"] + b"\n[[rules]]\nroute = \"x\"\n"
                b"approvals = 1\nwhen = { a = { gte = nan } }\n"}), "format",
        "a NaN threshold")
    prop = json.loads(m["proposal.json"])
    one("proposal-deep-json", zip_of({**m, "proposal.json": b"[" * 100000 + b"]" * 100000}),
        "format", "100000-deep JSON")
    one("proposal-nan", zip_of({**m, "proposal.json": m["proposal.json"].replace(
        b'"confidence":' + json.dumps(prop["summary"]["confidence"]).encode(),
        b'"confidence":NaN')}), "format", "NaN in a document")
    note = bytearray(m["log/checkpoint"])
    note[-5] = ord("A") if note[-5] != ord("A") else ord("B")
    one("checkpoint-bad-signature", zip_of({**m, "log/checkpoint": bytes(note)}), "checkpoint",
        "a flipped signature byte")
    one("receipt-left-out", zip_of({k: x for k, x in m.items()
                                    if not k.startswith("receipt.json")}), "receipt_left_out",
        "the log records an execution the bundle hides")
    one("approval-left-out", zip_of({k: x for k, x in m.items()
                                     if not k.startswith("decisions/2.json")}),
        "decision_left_out", "the log records carol's decision; the bundle drops it")
    one("reject-left-out", zip_of({k: x for k, x in rm.items()
                                   if not k.startswith("decisions/2.json")}),
        "decision_left_out", "a recorded reject left out of a rejected bundle")
    one("foreign-allowed-signers", zip_of({**m, "allowed_signers":
                                           b"mallory@example.com ssh-ed25519 AAAA\n"}), None,
        "the bundle's allowed_signers is never trusted: still valid", exit=0)


def policies() -> None:
    for name, text, why in (
        ("deep-arrays", DEEP_ARRAYS, "RecursionError in tomllib"),
        ("deep-tables", DEEP_TABLES, "RecursionError in tomllib"),
        ("deep-dotted-key", DEEP_DOTTED, "quadratic in tomllib"),
        ("deep-header", DEEP_HEADER, "quadratic in tomllib"),
        ("approvals-nan", policy_rule("approvals = nan"), "NaN"),
        ("approvals-inf", policy_rule("approvals = inf"), "infinity"),
        ("approvals-float", policy_rule("approvals = 2.0"), "a float count"),
        ("gte-nan", policy_rule("when = { amount_minor = { gte = nan } }"), "NaN threshold"),
        ("lt-neg-inf", policy_rule("when = { amount_minor = { lt = -inf } }"), "-inf"),
        ("gte-float", policy_rule("when = { amount_minor = { gte = 500.5 } }"),
         "a float threshold: money is never a float"),
        ("eq-huge-int", policy_rule("when = { amount_minor = { eq = 9007199254740993 } }"),
         "beyond 2^53-1"),
        ("in-300-values", policy_rule("when = { currency = { in = [" + ", ".join(
            f'"c{i}"' for i in range(300)) + "] } }"), "an in-list over the limit"),
        ("rules-300", (POLICY_HEAD + "".join(f'[[rules]]\nroute = "r{i}"\napprovals = 1\n\n'
                                             for i in range(300))).encode(), "300 rules"),
        ("unknown-key", policy_rule("approval = 2"), "a typo must not weaken a rule"),
        ("not-utf8", POLICY_HEAD.encode() + b"# \xff\n", "not UTF-8"),
        ("nul-byte", POLICY_HEAD.encode() + b"x = \"a\x00b\"\n", "a NUL in TOML"),
    ):
        case("policy", name, text if isinstance(text, bytes) else text.encode(), exit=1,
             code="policy", why=why)


def trust_files() -> None:
    for name, text, why in (
        ("deep-arrays", DEEP_ARRAYS, "RecursionError in tomllib"),
        ("deep-dotted-key", DEEP_DOTTED, "quadratic in tomllib"),
        ("not-utf8", b"policies = []\n# \xff\n", "not UTF-8"),
        ("policies-int", b"policies = 1\n", "wrong type"),
        ("unknown-key", b"polices = []\n", "a typo"),
        ("nan", b"policies = []\nlogs = []\nx = nan\n", "NaN"),
        ("too-many", ("logs = [" + ", ".join(f'"k{i}"' for i in range(2000)) + "]\n").encode(),
         "2000 log keys"),
    ):
        case("trust", name, text, exit=2, code="trust", why=why)


def documents() -> None:
    base = json.loads((VECTORS / "payment-2of4.foureyes").exists() and zipfile.ZipFile(
        VECTORS / "payment-2of4.foureyes").read("proposal.json"))
    raw = canon(base)
    for name, reader, data, code, why in (
        ("proposal-nan", "proposal", raw.replace(b'"confidence":0.9', b'"confidence":NaN')
         if b'"confidence":0.9' in raw else raw[:-1] + b',"x":NaN}', "format", "NaN"),
        ("proposal-duplicate-key", "proposal", b'{"schema":"a","schema":"b"}', "format",
         "a key twice"),
        ("proposal-lone-surrogate", "proposal", b'{"schema":"\\ud800"}', "format",
         "a lone surrogate"),
        ("proposal-big-int", "proposal", b'{"a":9007199254740993}', "format",
         "beyond 2^53-1"),
        ("proposal-deep", "proposal", b'{"a":' * 5000 + b"1" + b"}" * 5000, "format",
         "5000-deep JSON"),
        ("proposal-whitespace", "proposal", raw.replace(b",", b", ", 1), "format",
         "not canonical"),
        ("decision-empty", "decision", b"", "format", "empty"),
        ("receipt-array", "receipt", b"[]", "format", "not an object"),
        ("event-type-list", "event", canon({"schema": "foureyes.event/v1", "type": ["x"],
                                            "at": "2026-11-24T09:30:00Z"}), "format",
         "an unhashable type"),
        ("event-type-dict", "event", canon({"schema": "foureyes.event/v1", "type": {"a": 1},
                                            "at": "2026-11-24T09:30:00Z"}), "format",
         "an unhashable type"),
    ):
        case("document", name, data, exit=1, code=code, why=why, reader=reader)


def write_expected() -> None:
    lines = ["# Expected outcome of every corpus input; written by make_corpus.py, read by",
             "# tests/test_corpus.py. kind bundle: `foureyes verify FILE --trust` the vectors'",
             "# trust.toml (exit; code = a failed check). policy: Policy.from_bytes and",
             "# `foureyes policy check` (exit 1). trust: parse_trust and `verify --trust FILE`",
             "# (exit 2). document: the strict reader named by `reader`.", ""]
    for row in CASES:
        lines.append("[[case]]")
        for key in ("file", "kind", "reader", "exit", "code", "why"):
            if key in row:
                lines.append(f"{key} = {json.dumps(row[key], ensure_ascii=False)}")
        lines.append("")
    (HERE / "expected.toml").write_text("\n".join(lines))


def main() -> None:
    if not (VECTORS / "payment-2of4.foureyes").exists():
        sys.exit(f"known-answer vectors missing at {VECTORS}")
    for folder in ("bundles", "policies", "trust", "documents"):
        shutil.rmtree(HERE / folder, ignore_errors=True)
    bundles()
    policies()
    trust_files()
    documents()
    write_expected()
    total = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file())
    print(f"{len(CASES)} cases, {total} bytes")


if __name__ == "__main__":
    main()
