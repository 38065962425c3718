"""NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) decoding into Arrow columns.

One :class:`FlowDecoder` holds the state of every exporter: templates per (exporter address,
version, observation domain / source id), options data (sampling rate, sampler ids, interface
names) and error counters. Data records of a fixed-length template are decoded as a numpy
``uint8`` matrix, one row per record, and every column is computed from it without a Python
object per record; a template with variable-length fields (IPFIX) is first walked record by
record to copy its fixed-length fields into such a matrix.

Everything is bounded: the datagram size, the templates per exporter and domain, the fields per
template. A malformed datagram is counted under a reason in :attr:`FlowDecoder.errors` and its
undecodable part dropped; nothing raises out of :meth:`FlowDecoder.decode`.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

# Information elements (IANA IPFIX registry; NetFlow v9 field types share the numbers).
IE_OCTETS = 1
IE_PACKETS = 2
IE_PROTOCOL = 4
IE_TOS = 5
IE_TCP_FLAGS = 6
IE_SRC_PORT = 7
IE_SRC_V4 = 8
IE_INPUT_IF = 10
IE_DST_PORT = 11
IE_DST_V4 = 12
IE_OUTPUT_IF = 14
IE_POST_OCTETS = 23
IE_POST_PACKETS = 24
IE_SRC_V6 = 27
IE_DST_V6 = 28
IE_SAMPLING_INTERVAL = 34
IE_SAMPLER_ID = 48
IE_SAMPLER_RANDOM_INTERVAL = 50
IE_INTERFACE_NAME = 82
IE_OCTETS_TOTAL = 85
IE_PACKETS_TOTAL = 86
IE_SELECTOR_ID = 302
IE_SAMPLING_PACKET_INTERVAL = 305
IE_SAMPLING_PACKET_SPACE = 306

VARIABLE = 0xFFFF
#: Characters of an interface name kept (ifName and ifDescr are at most 255 octets).
MAX_INTERFACE_NAME = 255

#: The columns of a decoded batch, in order.
SCHEMA = pa.schema(
    [
        ("exporter", pa.string()),
        ("version", pa.uint8()),
        ("domain", pa.uint32()),
        ("src_addr", pa.binary(16)),
        ("dst_addr", pa.binary(16)),
        ("proto", pa.uint8()),
        ("src_port", pa.uint16()),
        ("dst_port", pa.uint16()),
        ("bytes", pa.uint64()),
        ("packets", pa.uint64()),
        ("input_if", pa.uint32()),
        ("output_if", pa.uint32()),
        ("tcp_flags", pa.uint8()),
        # the exporter's 1-in-N packet sampling; 0 where unknown (then counts are taken as is)
        ("sampling_rate", pa.uint32()),
    ]
)

_V5_HEADER = struct.Struct("!HHIIIIBBH")
_V9_HEADER = struct.Struct("!HHIIII")
_IPFIX_HEADER = struct.Struct("!HHIII")
_SET = struct.Struct("!HH")
_V5_RECORD = 48
_V4_MAPPED = bytes(10) + b"\xff\xff"
#: The largest sampling rate kept (the column is 32 bits; a larger one is no rate).
_MAX_RATE = 0xFFFFFFFF


@dataclass(frozen=True)
class Limits:
    max_datagram: int = 65535
    max_templates: int = 1024  # per exporter, version and observation domain
    max_fields: int = 512  # per template
    max_interfaces: int = 65536  # interface names kept per exporter and domain
    max_samplers: int = 4096  # sampler (selector) rates kept per exporter and domain
    max_exporters: int = 10000  # (exporter, version, domain) states kept
    #: fields of all the templates kept, over every exporter and domain (a template flood
    #: spread over many domains or spoofed exporters stays bounded in memory)
    max_total_fields: int = 1_000_000


@dataclass
class Template:
    template_id: int
    fields: list[tuple[int, int, int]]  # (information element, enterprise, length)
    scope_count: int = 0  # options templates: the leading scope fields
    options: bool = False
    # fixed-length layout: (ie, enterprise) -> (offset, length) in the record (or the
    # matrix of fixed fields when the template has variable-length ones)
    layout: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    fixed_len: int = 0  # bytes of the fixed-length fields
    variable: bool = False

    def __post_init__(self) -> None:
        off = 0
        for ie, pen, length in self.fields:
            if length == VARIABLE:
                self.variable = True
                continue
            self.layout.setdefault((ie, pen), (off, length))
            off += length
        self.fixed_len = off


@dataclass
class DomainState:
    """What one exporter's observation domain (v9: source id) has told: templates, options."""

    templates: dict[int, Template] = field(default_factory=dict)
    sampling_rate: int = 0
    sampler_rates: dict[int, int] = field(default_factory=dict)
    interface_names: dict[int, str] = field(default_factory=dict)
    #: bumped whenever an options record changes a rate or a name (what to report again)
    options_serial: int = 0


@dataclass
class Decoded:
    """One datagram: its header facts and its flow records as columns."""

    exporter: str
    version: int
    domain: int
    sequence: int
    #: how far this datagram may advance the sequence number, one value per counting
    #: convention seen in exporters: v5 its flows; v9 1 (export packets, RFC 3954) or its
    #: records; IPFIX its data records (RFC 7011) or its flow records only. None where some
    #: records could not be counted.
    sequence_steps: tuple[int, ...] | None
    records: pa.Table
    templates_received: int = 0
    #: sFlow counter samples' generic interface counters (one dict per record).
    counters: list[dict[str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class DomainOptions:
    """What one exporter's observation domain (v9: source id) told in options records: its
    sampling rate (0: none told), its samplers' rates, and its interfaces' names by ifIndex."""

    exporter: str
    version: int
    domain: int
    sampling_rate: int = 0
    sampler_rates: Mapping[int, int] = field(default_factory=dict)
    interface_names: Mapping[int, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "exporter": self.exporter,
            "version": self.version,
            "domain": self.domain,
            "sampling_rate": self.sampling_rate,
            "sampler_rates": {str(k): v for k, v in self.sampler_rates.items()},
            "interface_names": {str(k): v for k, v in self.interface_names.items()},
        }

    @classmethod
    def from_dict(cls, raw: object, limits: Limits | None = None) -> DomainOptions:
        """The inverse of :meth:`to_dict`, bounded as the decoder is (:class:`Limits`);
        ``ValueError`` when it is not such a dict."""
        lim = limits or Limits()
        if not isinstance(raw, dict):
            raise ValueError("domain options are a JSON object")
        samplers, names = raw.get("sampler_rates") or {}, raw.get("interface_names") or {}
        if not isinstance(samplers, dict) or not isinstance(names, dict):
            raise ValueError("sampler rates and interface names are JSON objects")
        if len(samplers) > lim.max_interfaces or len(names) > lim.max_interfaces:
            raise ValueError("too many samplers or interface names")
        return cls(
            exporter=str(raw["exporter"])[:255],
            version=_bounded(raw["version"], 255),
            domain=_bounded(raw["domain"], 2**32 - 1),
            sampling_rate=_bounded(raw.get("sampling_rate", 0), 2**32 - 1),
            sampler_rates={
                _bounded(k, 2**64 - 1): _bounded(v, 2**32 - 1) for k, v in samplers.items()
            },
            interface_names={
                _bounded(k, 2**32 - 1): str(v)[:MAX_INTERFACE_NAME] for k, v in names.items()
            },
        )


def _bounded(value: object, top: int) -> int:
    number = int(value)  # type: ignore[call-overload]
    if not 0 <= number <= top:
        raise ValueError(f"{number} out of range")
    return number


def _uint(mat: np.ndarray, off: int, length: int) -> np.ndarray:
    """Big-endian unsigned integers of ``length`` bytes at ``off`` of every row."""
    if length in (1, 2, 4, 8):
        dt = {1: ">u1", 2: ">u2", 4: ">u4", 8: ">u8"}[length]
        col = np.ascontiguousarray(mat[:, off : off + length]).view(dt)[:, 0]
        return col.astype(np.uint64)
    out = np.zeros(mat.shape[0], dtype=np.uint64)
    for i in range(min(length, 8)):
        out = (out << np.uint64(8)) | mat[:, off + length - min(length, 8) + i].astype(np.uint64)
    return out


def _addr16(mat: np.ndarray, off: int, length: int) -> pa.Array:
    n = mat.shape[0]
    out = np.zeros((n, 16), dtype=np.uint8)
    if length == 4:
        out[:, 10:12] = 0xFF
        out[:, 12:16] = mat[:, off : off + 4]
    elif length == 16:
        out[:, :] = mat[:, off : off + 16]
    return pa.Array.from_buffers(pa.binary(16), n, [None, pa.py_buffer(out.tobytes())])


def _empty() -> pa.Table:
    return SCHEMA.empty_table()


class FlowDecoder:
    """Decodes datagrams of every exporter, keeping their templates and options."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.domains: dict[tuple[str, int, int], DomainState] = {}
        self.errors: Counter[str] = Counter()
        #: fields of all the templates kept (bounded by ``limits.max_total_fields``)
        self.total_fields = 0

    # -- state ---------------------------------------------------------------------------
    def domain(self, exporter: str, version: int, domain: int) -> DomainState | None:
        key = (exporter, version, domain)
        state = self.domains.get(key)
        if state is None:
            if len(self.domains) >= self.limits.max_exporters:
                self.errors["exporter_limit"] += 1
                return None
            state = self.domains[key] = DomainState()
        return state

    def options(self, exporter: str | None = None) -> list[DomainOptions]:
        """What options records told per exporter (all, or ``exporter``) and domain: the
        domains that told a sampling rate or an interface name."""
        out = []
        for (e, version, domain), st in sorted(self.domains.items()):
            if exporter is not None and e != exporter:
                continue
            if st.sampling_rate or st.sampler_rates or st.interface_names:
                out.append(
                    DomainOptions(
                        e,
                        version,
                        domain,
                        st.sampling_rate,
                        dict(st.sampler_rates),
                        dict(st.interface_names),
                    )
                )
        return out

    def templates_known(self, exporter: str) -> int:
        return sum(len(s.templates) for (e, _, _), s in self.domains.items() if e == exporter)

    # -- entry point ---------------------------------------------------------------------
    def decode(self, data: bytes, exporter: str) -> Decoded | None:
        """Decode one datagram from ``exporter`` (its address); None when it is unusable."""
        if len(data) > self.limits.max_datagram:
            self.errors["oversize"] += 1
            return None
        if len(data) < 4:
            self.errors["truncated"] += 1
            return None
        version = int.from_bytes(data[:2], "big")
        try:
            if data[:4] == b"\x00\x00\x00\x05":
                return self._sflow(data, exporter)
            if version == 5:
                return self._v5(data, exporter)
            if version == 9:
                return self._v9(data, exporter)
            if version == 10:
                return self._ipfix(data, exporter)
        except (struct.error, ValueError, IndexError):
            self.errors["malformed"] += 1
            return None
        self.errors["unknown_version"] += 1
        return None

    # -- sFlow v5 ------------------------------------------------------------------------
    def _sflow(self, data: bytes, exporter: str) -> Decoded | None:
        from network_discovery.flows.sflow import SFLOW_VERSION, SflowError, decode_sflow

        try:
            datagram = decode_sflow(data, exporter)
        except SflowError:
            self.errors["malformed"] += 1
            return None
        if datagram.malformed:
            self.errors["sflow_sample_malformed"] += datagram.malformed
        return Decoded(
            exporter,
            SFLOW_VERSION,
            datagram.sub_agent,
            datagram.sequence,
            (1,),
            datagram.records,
            counters=datagram.counters,
        )

    # -- NetFlow v5 ----------------------------------------------------------------------
    def _v5(self, data: bytes, exporter: str) -> Decoded | None:
        if len(data) < _V5_HEADER.size:
            self.errors["truncated"] += 1
            return None
        _, count, _, _, _, seq, _, engine_id, sampling = _V5_HEADER.unpack_from(data)
        if count > 30 or len(data) < _V5_HEADER.size + count * _V5_RECORD:
            self.errors["truncated"] += 1
            return None
        mat = np.frombuffer(data, np.uint8, count * _V5_RECORD, _V5_HEADER.size)
        mat = mat.reshape(count, _V5_RECORD)
        rate = sampling & 0x3FFF  # the top two bits are the sampling mode
        n = count
        cols = {
            "src_addr": _addr16(mat, 0, 4),
            "dst_addr": _addr16(mat, 4, 4),
            "input_if": _uint(mat, 12, 2),
            "output_if": _uint(mat, 14, 2),
            "packets": _uint(mat, 16, 4),
            "bytes": _uint(mat, 20, 4),
            "src_port": _uint(mat, 32, 2),
            "dst_port": _uint(mat, 34, 2),
            "tcp_flags": _uint(mat, 37, 1),
            "proto": _uint(mat, 38, 1),
        }
        table = self._table(exporter, 5, engine_id, n, cols, np.full(n, rate, np.uint64))
        return Decoded(exporter, 5, engine_id, seq, (count,), table)

    # -- NetFlow v9 ----------------------------------------------------------------------
    def _v9(self, data: bytes, exporter: str) -> Decoded | None:
        if len(data) < _V9_HEADER.size:
            self.errors["truncated"] += 1
            return None
        _, _, _, _, seq, source_id = _V9_HEADER.unpack_from(data)
        state = self.domain(exporter, 9, source_id)
        if state is None:
            return None
        tables, new_templates, counted = self._sets(
            data, _V9_HEADER.size, exporter, 9, source_id, state
        )
        table = pa.concat_tables(tables) if tables else _empty()
        steps = None if counted is None else (1, counted, table.num_rows)
        return Decoded(exporter, 9, source_id, seq, steps, table, new_templates)

    # -- IPFIX ---------------------------------------------------------------------------
    def _ipfix(self, data: bytes, exporter: str) -> Decoded | None:
        if len(data) < _IPFIX_HEADER.size:
            self.errors["truncated"] += 1
            return None
        _, length, _, seq, domain = _IPFIX_HEADER.unpack_from(data)
        if length < _IPFIX_HEADER.size or length > len(data):
            self.errors["truncated"] += 1
            return None
        state = self.domain(exporter, 10, domain)
        if state is None:
            return None
        tables, new_templates, counted = self._sets(
            data[:length], _IPFIX_HEADER.size, exporter, 10, domain, state
        )
        table = pa.concat_tables(tables) if tables else _empty()
        steps = None if counted is None else (counted, table.num_rows)
        return Decoded(exporter, 10, domain, seq, steps, table, new_templates)

    # -- sets (v9 flowsets, IPFIX sets) ---------------------------------------------------
    def _sets(
        self, data: bytes, pos: int, exporter: str, version: int, domain: int, st: DomainState
    ) -> tuple[list[pa.Table], int, int | None]:
        tmpl_set, opts_set = (0, 1) if version == 9 else (2, 3)
        tables: list[pa.Table] = []
        new_templates = 0
        counted: int | None = 0
        while pos + 4 <= len(data):
            set_id, set_len = _SET.unpack_from(data, pos)
            if set_len < 4 or pos + set_len > len(data):
                self.errors["truncated"] += 1
                counted = None
                break
            body = data[pos + 4 : pos + set_len]
            pos += set_len
            if set_id == tmpl_set:
                new_templates += self._templates(body, version, st, options=False)
            elif set_id == opts_set:
                new_templates += self._templates(body, version, st, options=True)
            elif set_id >= 256:
                tmpl = st.templates.get(set_id)
                if tmpl is None:
                    self.errors["unknown_template"] += 1
                    counted = None
                    continue
                mat, var = self._records(body, tmpl)
                if mat is None:
                    counted = None
                    continue
                if counted is not None:
                    counted += mat.shape[0]
                if tmpl.options:
                    self._options(mat, var, tmpl, st)
                elif mat.shape[0]:
                    tables.append(self._flows(mat, tmpl, st, exporter, version, domain))
            else:
                self.errors["reserved_set"] += 1
        return tables, new_templates, counted

    def _templates(self, body: bytes, version: int, st: DomainState, *, options: bool) -> int:
        pos, added = 0, 0
        while len(body) - pos >= 4:
            if options and version == 9:
                if len(body) - pos < 6:
                    break
                tid, scope_len, opt_len = struct.unpack_from("!HHH", body, pos)
                pos += 6
                if scope_len % 4 or opt_len % 4:
                    self.errors["bad_template"] += 1
                    return added
                scope_count, count = scope_len // 4, (scope_len + opt_len) // 4
            elif options:
                tid, count = struct.unpack_from("!HH", body, pos)
                pos += 4
                if count:  # a withdrawal has no scope field count
                    if len(body) - pos < 2:
                        break  # padding
                    (scope_count,) = struct.unpack_from("!H", body, pos)
                    pos += 2
            else:
                tid, count = struct.unpack_from("!HH", body, pos)
                pos += 4
            if version == 10 and count == 0:  # withdrawal (RFC 7011 8.1)
                if tid in (2, 3):  # all templates / all options templates of the domain
                    kept = {k: t for k, t in st.templates.items() if t.options != (tid == 3)}
                    self.total_fields -= sum(
                        len(t.fields) for k, t in st.templates.items() if k not in kept
                    )
                    st.templates = kept
                else:
                    gone = st.templates.pop(tid, None)
                    self.total_fields -= len(gone.fields) if gone else 0
                continue
            if tid < 256:
                if tid == 0 and count == 0:
                    break  # padding
                self.errors["bad_template"] += 1
                return added
            if count > self.limits.max_fields or (options and scope_count > count):
                self.errors["bad_template"] += 1
                return added
            fields: list[tuple[int, int, int]] = []
            for _ in range(count):
                ie, length = struct.unpack_from("!HH", body, pos)
                pos += 4
                pen = 0
                if version == 10 and ie & 0x8000:
                    (pen,) = struct.unpack_from("!I", body, pos)
                    pos += 4
                    ie &= 0x7FFF
                if version == 9 and (length == 0 or length == VARIABLE):
                    if options and len(fields) < scope_count and length == 0:
                        pass  # v9 scope "system" with length 0 is legal
                    else:
                        raise ValueError("variable length in v9")
                fields.append((ie, pen, length))
            if tid not in st.templates and len(st.templates) >= self.limits.max_templates:
                self.errors["template_limit"] += 1
                continue
            tmpl = Template(tid, fields, scope_count if options else 0, options)
            if tmpl.fixed_len == 0 and not tmpl.variable:
                self.errors["bad_template"] += 1
                continue
            before = st.templates.get(tid)
            grows = len(fields) - (len(before.fields) if before else 0)
            if self.total_fields + grows > self.limits.max_total_fields:
                self.errors["template_limit"] += 1
                continue
            self.total_fields += grows
            st.templates[tid] = tmpl
            added += 1
        return added

    def _records(
        self, body: bytes, t: Template
    ) -> tuple[np.ndarray | None, list[dict[tuple[int, int], bytes]]]:
        """The fixed-length fields of every record as a uint8 matrix, and (variable-length
        templates only) each record's variable-length fields."""
        if not t.variable:
            n = len(body) // t.fixed_len  # the rest is padding
            mat = np.frombuffer(body, np.uint8, n * t.fixed_len).reshape(n, t.fixed_len)
            return mat, []
        rows: list[bytes] = []
        var: list[dict[tuple[int, int], bytes]] = []
        pos, end = 0, len(body)
        min_len = t.fixed_len + sum(1 for f in t.fields if f[2] == VARIABLE)
        while end - pos >= min_len:
            row = bytearray()
            vals: dict[tuple[int, int], bytes] = {}
            for ie, pen, length in t.fields:
                if length == VARIABLE:
                    vlen = body[pos]
                    pos += 1
                    if vlen == 255:
                        if pos + 2 > end:
                            self.errors["truncated"] += 1
                            return None, []
                        vlen = int.from_bytes(body[pos : pos + 2], "big")
                        pos += 2
                    if pos + vlen > end:
                        self.errors["truncated"] += 1
                        return None, []
                    vals.setdefault((ie, pen), body[pos : pos + vlen])
                    pos += vlen
                else:
                    if pos + length > end:
                        self.errors["truncated"] += 1
                        return None, []
                    row += body[pos : pos + length]
                    pos += length
            rows.append(bytes(row))
            var.append(vals)
        mat = np.frombuffer(b"".join(rows), np.uint8).reshape(len(rows), t.fixed_len)
        return mat, var

    def _options(
        self, mat: np.ndarray, var: list[dict[tuple[int, int], bytes]], t: Template, st: DomainState
    ) -> None:
        def val(i: int, ie: int) -> int | None:
            loc = t.layout.get((ie, 0))
            if loc is None:
                return None
            return int(_uint(mat[i : i + 1], *loc)[0])

        for i in range(mat.shape[0]):
            rate = val(i, IE_SAMPLING_INTERVAL) or val(i, IE_SAMPLER_RANDOM_INTERVAL)
            interval = val(i, IE_SAMPLING_PACKET_INTERVAL)
            if rate is None and interval:
                rate = (interval + (val(i, IE_SAMPLING_PACKET_SPACE) or 0)) // interval
            if rate and rate > _MAX_RATE:
                self.errors["bad_sampling_rate"] += 1
            elif rate:
                sampler = val(i, IE_SAMPLER_ID)
                sampler = sampler if sampler is not None else val(i, IE_SELECTOR_ID)
                if sampler is not None and t.scope_count:
                    if (
                        sampler in st.sampler_rates
                        or len(st.sampler_rates) < self.limits.max_samplers
                    ):
                        if st.sampler_rates.get(sampler) != rate:
                            st.sampler_rates[sampler] = rate
                            st.options_serial += 1
                    else:
                        self.errors["sampler_limit"] += 1
                elif st.sampling_rate != rate:
                    st.sampling_rate = rate
                    st.options_serial += 1
            ifindex = val(i, IE_INPUT_IF)
            name_loc = t.layout.get((IE_INTERFACE_NAME, 0))
            name: bytes | None = None
            if name_loc is not None:
                name = bytes(mat[i, name_loc[0] : name_loc[0] + name_loc[1]])
            elif var:
                name = var[i].get((IE_INTERFACE_NAME, 0))
            if ifindex is not None and name is not None:
                if (
                    ifindex in st.interface_names
                    or len(st.interface_names) < self.limits.max_interfaces
                ):
                    text = name.rstrip(b"\0").decode("utf-8", "replace")[:MAX_INTERFACE_NAME]
                    if st.interface_names.get(ifindex) != text:
                        st.interface_names[ifindex] = text
                        st.options_serial += 1

    def _flows(
        self,
        mat: np.ndarray,
        t: Template,
        st: DomainState,
        exporter: str,
        version: int,
        domain: int,
    ) -> pa.Table:
        n = mat.shape[0]
        lay = t.layout

        def first(*ies: int) -> tuple[int, int] | None:
            for ie in ies:
                if (ie, 0) in lay:
                    return lay[(ie, 0)]
            return None

        cols: dict[str, object] = {}
        for name, ies in (
            ("bytes", (IE_OCTETS, IE_OCTETS_TOTAL, IE_POST_OCTETS)),
            ("packets", (IE_PACKETS, IE_PACKETS_TOTAL, IE_POST_PACKETS)),
            ("proto", (IE_PROTOCOL,)),
            ("src_port", (IE_SRC_PORT,)),
            ("dst_port", (IE_DST_PORT,)),
            ("input_if", (IE_INPUT_IF,)),
            ("output_if", (IE_OUTPUT_IF,)),
            ("tcp_flags", (IE_TCP_FLAGS,)),
        ):
            loc = first(*ies)
            cols[name] = _uint(mat, *loc) if loc else np.zeros(n, np.uint64)
        for aname, aies in (
            ("src_addr", (IE_SRC_V4, IE_SRC_V6)),
            ("dst_addr", (IE_DST_V4, IE_DST_V6)),
        ):
            loc = first(*aies)
            cols[aname] = _addr16(mat, *loc) if loc else _addr16(np.zeros((n, 16), np.uint8), 0, 16)
        loc = first(IE_SAMPLING_INTERVAL)
        if loc:
            rate = _uint(mat, *loc)
            rate[rate > _MAX_RATE] = 0  # not a rate: unknown
        else:
            rate = np.full(n, st.sampling_rate, np.uint64)
            sloc = first(IE_SAMPLER_ID, IE_SELECTOR_ID)
            if sloc and st.sampler_rates:
                ids = _uint(mat, *sloc)
                for sid, r in st.sampler_rates.items():
                    rate[ids == sid] = r
        return self._table(exporter, version, domain, n, cols, rate)

    @staticmethod
    def _table(
        exporter: str, version: int, domain: int, n: int, cols: dict[str, object], rate: np.ndarray
    ) -> pa.Table:
        arrays: list[pa.Array] = [
            pa.repeat(exporter, n),
            pa.array(np.full(n, version, np.uint8)),
            pa.array(np.full(n, domain, np.uint32)),
        ]
        for f in list(SCHEMA)[3:13]:
            col = cols[f.name]
            if isinstance(col, pa.Array):
                arrays.append(col)
            else:
                arrays.append(pa.array(np.asarray(col).astype(f.type.to_pandas_dtype())))
        arrays.append(pa.array(rate.astype(np.uint32)))
        return pa.Table.from_arrays(arrays, schema=SCHEMA)
