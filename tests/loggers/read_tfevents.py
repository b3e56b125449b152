#!/usr/bin/python3
"""Independent reader of a TensorBoard event file, for the logger tests.

Checks the TFRecord framing (length, masked CRC32C of the length, payload,
masked CRC32C of the payload), decodes each Event with a hand-written
protobuf wire-format parser (no tensorflow/protobuf needed) and prints one
canonical line per event:

  file_version brain.Event:2
  scalars step=<int> <tag>=<repr(float32 value)> ...
  hparams/experiment <name>:<FLOAT64|STRING|BOOL> ... | <metric tag> ...
  hparams/session_start_info <name>=<repr(value)> ...
  hparams/session_end_info status=<int>

Exits 1 with a message on stderr on any malformed byte.
Usage: read_tfevents.py EVENTS_FILE
"""
import struct
import sys
import time


def fail(msg):
    sys.stderr.write("read_tfevents: " + msg + "\n")
    sys.exit(1)


def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def records(blob):
    pos = 0
    while pos < len(blob):
        if pos + 12 > len(blob):
            fail("truncated record header at byte %d" % pos)
        header = blob[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (len_crc,) = struct.unpack("<I", blob[pos + 8:pos + 12])
        if len_crc != masked(header):
            fail("bad length CRC at byte %d" % pos)
        start = pos + 12
        end = start + length
        if end + 4 > len(blob):
            fail("truncated record payload at byte %d" % pos)
        data = blob[start:end]
        (data_crc,) = struct.unpack("<I", blob[end:end + 4])
        if data_crc != masked(data):
            fail("bad data CRC at byte %d" % pos)
        yield data
        pos = end + 4


def varint(buf, pos):
    result = shift = 0
    while True:
        if pos >= len(buf):
            fail("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, pos
        if shift > 63:
            fail("varint too long")


def fields(buf):
    """[(field_number, wire_type, value)] of one message."""
    out = []
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, pos = varint(buf, pos)
        elif wt == 1:
            val = buf[pos:pos + 8]
            pos += 8
        elif wt == 2:
            n, pos = varint(buf, pos)
            val = buf[pos:pos + n]
            pos += n
        elif wt == 5:
            val = buf[pos:pos + 4]
            pos += 4
        else:
            fail("unsupported wire type %d" % wt)
        if pos > len(buf):
            fail("field %d runs past its message" % num)
        out.append((num, wt, val))
    return out


def only(msg, allowed, what):
    for num, wt, _ in msg:
        if (num, wt) not in allowed:
            fail("unexpected field %d (wire type %d) in %s" % (num, wt, what))


def as_int64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def pyvalue(buf):
    """google.protobuf.Value -> Python value."""
    msg = fields(buf)
    only(msg, {(2, 1), (3, 2), (4, 0)}, "google.protobuf.Value")
    if len(msg) != 1:
        fail("google.protobuf.Value with %d fields" % len(msg))
    num, _, val = msg[0]
    if num == 2:
        return struct.unpack("<d", val)[0]
    if num == 3:
        return val.decode()
    return bool(val)


def hparams_line(tag, content):
    data = fields(content)
    only(data, {(1, 0), (2, 2), (3, 2), (4, 2)}, "HParamsPluginData")
    parts = [d for d in data if d[0] != 1]
    if len(parts) != 1:
        fail("HParamsPluginData holds %d data fields" % len(parts))
    num, _, body = parts[0]
    if tag == "_hparams_/experiment" and num == 2:
        exp = fields(body)
        only(exp, {(4, 2), (5, 2)}, "Experiment")
        types = {0: "UNSET", 1: "STRING", 2: "BOOL", 3: "FLOAT64"}
        hps, mets = [], []
        for n, _, b in exp:
            if n == 4:
                info = dict((k, v) for k, _, v in fields(b))
                hps.append("%s:%s" % (info[1].decode(), types[info.get(4, 0)]))
            else:
                name = dict((k, v) for k, _, v in fields(dict((k, v) for k, _, v in fields(b))[1]))
                mets.append(name[2].decode())
        return " ".join(["hparams/experiment"] + hps + ["|"] + mets)
    if tag == "_hparams_/session_start_info" and num == 3:
        ssi = fields(body)
        only(ssi, {(1, 2)}, "SessionStartInfo")
        items = []
        for _, _, entry in ssi:
            kv = dict((k, v) for k, _, v in fields(entry))
            items.append("%s=%r" % (kv[1].decode(), pyvalue(kv[2])))
        return " ".join(["hparams/session_start_info"] + items)
    if tag == "_hparams_/session_end_info" and num == 4:
        sei = dict((k, v) for k, _, v in fields(body))
        return "hparams/session_end_info status=%d" % sei.get(1, 0)
    fail("hparams summary %r holds data field %d" % (tag, num))


def summary_line(step, summary):
    values = fields(summary)
    only(values, {(1, 2)}, "Summary")
    scalars = []
    lines = []
    for _, _, vbuf in values:
        value = fields(vbuf)
        only(value, {(1, 2), (2, 5), (9, 2)}, "Summary.Value")
        v = dict((k, x) for k, _, x in value)
        tag = v[1].decode()
        if 9 in v:
            meta = dict((k, x) for k, _, x in fields(v[9]))
            plugin = dict((k, x) for k, _, x in fields(meta[1]))
            if plugin[1] != b"hparams":
                fail("unexpected plugin %r" % plugin[1])
            lines.append(hparams_line(tag, plugin.get(2, b"")))
        else:
            if 2 not in v:
                fail("scalar %r without simple_value" % tag)
            scalars.append("%s=%r" % (tag, struct.unpack("<f", v[2])[0]))
    if scalars:
        lines.append(" ".join(["scalars step=%d" % step] + scalars))
    return lines


def main():
    if len(sys.argv) != 2:
        fail("usage: read_tfevents.py EVENTS_FILE")
    if crc32c(b"123456789") != 0xE3069283:
        fail("CRC32C self-test failed")
    with open(sys.argv[1], "rb") as f:
        blob = f.read()
    now = time.time()
    for i, rec in enumerate(records(blob)):
        ev = fields(rec)
        only(ev, {(1, 1), (2, 0), (3, 2), (5, 2)}, "Event")
        e = dict((k, v) for k, _, v in ev)
        if 1 not in e:
            fail("event %d has no wall_time" % i)
        wall = struct.unpack("<d", e[1])[0]
        if not (1e9 < wall <= now + 60):
            fail("event %d has wall_time %r" % (i, wall))
        step = as_int64(e.get(2, 0))
        if i == 0:
            if 3 not in e:
                fail("first event is not a file_version event")
            print("file_version " + e[3].decode())
        elif 3 in e:
            fail("file_version in event %d" % i)
        elif 5 in e:
            for line in summary_line(step, e[5]):
                print(line)
        else:
            fail("event %d holds neither file_version nor summary" % i)


if __name__ == "__main__":
    main()
