#!/usr/bin/env python3
"""Writes the crafted files of tests/data/crafted/ (hostile or damaged
checkpoints, one per class of problem the reader must refuse) and
expected.tsv: file name, then the text the CheckpointError must contain.
Run once; the files are committed. Needs only Python's standard library."""
import os
import struct
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
expected = []


def unicode(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def int1(v):
    return b"K" + bytes([v])


def long8(v):
    return b"\x8a\x08" + struct.pack("<q", v)


def tensor(key, numel, offset, sizes, strides, storage="FloatStorage"):
    """_rebuild_tensor_v2 of a view into storage `key`, as torch.save writes it."""
    t = lambda vals: b"(" + b"".join(long8(v) for v in vals) + b"t"
    return (b"ctorch._utils\n_rebuild_tensor_v2\n(" +
            b"(" + unicode("storage") + b"ctorch\n" + storage.encode() + b"\n" + unicode(key) + unicode("cpu") +
            long8(numel) + b"tQ" + long8(offset) + t(sizes) + t(strides) + b"\x89" +
            b"ccollections\nOrderedDict\n)R" + b"tR")


def dict_of(items):
    return b"}(" + b"".join(unicode(k) + v for k, v in items) + b"u"


def archive(name, pickle_body, records=None, expect=None, compress=None, stop=True):
    data = b"\x80\x02" + pickle_body + (b"." if stop else b"")
    path = os.path.join(HERE, name)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", data, compress_type=compress)
        for k, v in (records or {}).items():
            z.writestr("archive/" + k, v)
        z.writestr("archive/version", "3\n")
    expected.append((name, expect))


def raw(name, data, expect):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    expected.append((name, expect))


floats4 = struct.pack("<4f", 1, 2, 3, 4)

# Code execution: globals outside the allow-list are refused, nothing runs.
archive("global_posix_system.ckpt", b"cposix\nsystem\n" + unicode("echo pwned") + b"\x85R",
        expect="names the Python global 'posix.system'")
archive("global_builtins_eval.ckpt", unicode("builtins") + unicode("eval") + b"\x93" + unicode("1") + b"\x85R",
        expect="names the Python global 'builtins.eval'")
archive("global_numpy.ckpt", dict_of([("x", b"cnumpy.core.multiarray\nscalar\n)R")]),
        expect="names the Python global 'numpy.core.multiarray.scalar'")

# Tensors whose view lies outside their storage.
archive("view_past_storage.ckpt", dict_of([("w", tensor("0", 4, 2, [4], [1]))]), {"data/0": floats4},
        expect="reaches past its storage")
archive("view_offset_2_61.ckpt", dict_of([("w", tensor("0", 4, 1 << 61, [2], [1]))]), {"data/0": floats4},
        expect="reaches past its storage")
archive("view_stride_overflow.ckpt", dict_of([("w", tensor("0", 4, 0, [3, 3], [1 << 62, 1 << 62]))]),
        {"data/0": floats4}, expect="overflows")
archive("view_negative_stride.ckpt", dict_of([("w", tensor("0", 4, 0, [2], [-1]))]), {"data/0": floats4},
        expect="negative size or stride")
archive("view_expanded.ckpt", dict_of([("w", tensor("0", 4, 0, [1 << 40], [0]))]), {"data/0": floats4},
        expect="more elements than its storage")
archive("storage_numel_overflow.ckpt", dict_of([("w", tensor("0", 1 << 62, 0, [4], [1]))]), {"data/0": floats4},
        expect="claims 4611686018427387904 elements")
archive("storage_short_record.ckpt", dict_of([("w", tensor("0", 8, 0, [8], [1]))]), {"data/0": floats4},
        expect="holds 16 bytes, but its tensor storage claims 8 elements")
archive("storage_missing.ckpt", dict_of([("w", tensor("7", 4, 0, [4], [1]))]), {"data/0": floats4},
        expect="is missing the record 'data/7'")
archive("storage_key_path.ckpt", dict_of([("w", tensor("../x", 4, 0, [4], [1]))]), {"data/0": floats4},
        expect="is not a plain name")

# Unbounded recursion and work.
archive("nested_tuples_200k.ckpt", b"(" * 200000 + b"t" * 200000, expect="nested deeper than 64 levels")
archive("self_containing_list.ckpt", b"]\x94h\x00a", expect="contains itself")
archive("nested_lists_100k.ckpt", b"]" + b"]\x94" * 0 + b"(]" * 100000 + b"e" * 100000,
        expect="nested deeper than 64 levels")
# x = (x, x) sixty times over: 2^60 paths through 61 values; read in one pass, nested 61 deep.
body = int1(1) + b"q\x000"
for i in range(60):
    body += b"h" + bytes([i]) + b"h" + bytes([i]) + b"\x86q" + bytes([i + 1]) + b"0"
body += b"h" + bytes([60])
archive("shared_tuples_2_60.ckpt", dict_of([("x", body)]), expect=None)  # loads: sharing is fine
archive("memo_get_unset.ckpt", b"j\xff\xff\xff\xff", expect="memo entry 4294967295 is used before it is set")
archive("string_past_end.ckpt", b"X\xff\xff\xff\x7f" + b"abc", expect="reaches past the pickle's end")
archive("long_too_wide.ckpt", b"\x8b\x00\x00\x00\x01" + b"\x00" * 16, expect="does not fit 64 bits")
archive("unknown_opcode.ckpt", b"\xff", expect="opcode 0xff")
archive("stack_underflow.ckpt", b"a", expect="stack is empty")
archive("no_stop.ckpt", b"N", expect="without its STOP", stop=False)

# The zip container.
archive("deflated_entry.ckpt", b"N" * 2, compress=zipfile.ZIP_DEFLATED, expect="compressed record 'archive/data.pkl'")
good = open(os.path.join(HERE, "view_past_storage.ckpt"), "rb").read()
raw("not_zip.ckpt", b"epoch: 3\n", expect="is not a checkpoint")
raw("empty.ckpt", b"", expect="is empty")
raw("legacy_format.ckpt", b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.", expect="legacy format")
raw("truncated_half.ckpt", good[: len(good) // 2], expect="zip directory at its end is missing")
crc_at = good.index(b"PK\x01\x02") + 16  # the first record's CRC-32 in the directory
raw("bad_crc.ckpt", good[:crc_at] + bytes([good[crc_at] ^ 1]) + good[crc_at + 1:], expect="does not match its CRC-32")
end = good.rindex(b"PK\x05\x06")
raw("record_count_huge.ckpt", good[: end + 8] + struct.pack("<HH", 0xFFFF, 0xFFFF) + good[end + 12:],
    expect="zip directory")
raw("directory_offset_outside.ckpt", good[: end + 16] + struct.pack("<I", 0x7FFFFFFF) + good[end + 20:],
    expect="do not match the file")
dup = os.path.join(HERE, "duplicate_record.ckpt")
with zipfile.ZipFile(dup, "w") as z:
    z.writestr("archive/data.pkl", b"\x80\x02N.")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z.writestr("archive/data.pkl", b"\x80\x02N.")
expected.append(("duplicate_record.ckpt", "holds the record 'data.pkl' twice"))
dots = os.path.join(HERE, "dotdot_name.ckpt")
with zipfile.ZipFile(dots, "w") as z:
    z.writestr("archive/../etc/data.pkl", b"\x80\x02N.")
expected.append(("dotdot_name.ckpt", "invalid name"))
two = os.path.join(HERE, "two_folders.ckpt")
with zipfile.ZipFile(two, "w") as z:
    z.writestr("a/data.pkl", b"\x80\x02N.")
    z.writestr("b/data/0", b"x")
expected.append(("two_folders.ckpt", "two top-level folders"))

with open(os.path.join(HERE, "expected.tsv"), "w") as f:
    for name, text in expected:
        f.write(f"{name}\t{text or ''}\n")
