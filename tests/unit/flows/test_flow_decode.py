"""The flow decoder on datagrams built from the RFCs: IPFIX variable-length fields, enterprise
fields, options (sampling rate, interface names), template withdrawal, per-exporter template
scopes, sampling-scaled aggregation, sequence gaps and hostile input."""

from __future__ import annotations

import struct

import pytest
from network_discovery.flows import FlowCollector, FlowDecoder, Limits, SequenceTracker
from network_discovery.flows.aggregate import conversation_dict, conversations
from support.flow_encode import data_set, field_spec, ipfix, template_set, v4, v9, varlen

# src, dst, proto, sport, dport, octets (8 bytes), packets (4 bytes)
FLOW_FIELDS = [
    field_spec(8, 4),
    field_spec(12, 4),
    field_spec(4, 1),
    field_spec(7, 2),
    field_spec(11, 2),
    field_spec(1, 8),
    field_spec(2, 4),
]


def flow(src: str, dst: str, proto: int, sp: int, dp: int, octets: int, pkts: int) -> bytes:
    return v4(src) + v4(dst) + struct.pack("!BHHQI", proto, sp, dp, octets, pkts)


def test_ipfix_fixed_template_and_padding() -> None:
    d = FlowDecoder()
    msg = ipfix(
        [
            template_set(2, 256, FLOW_FIELDS),
            data_set(256, [flow("10.0.0.1", "10.0.0.2", 6, 1234, 443, 5000, 10)] * 3, pad=3),
        ]
    )
    out = d.decode(msg, "192.0.2.1")
    assert out is not None and out.records.num_rows == 3
    conv = conversation_dict(conversations(out.records))
    assert conv == {("10.0.0.1", "10.0.0.2", 6, 1234, 443): (15000, 30)}
    assert out.sequence_steps == (3, 3)
    assert d.errors == {}


def test_ipfix_variable_length_and_enterprise_fields() -> None:
    fields = [
        field_spec(8, 4),
        field_spec(95, 0xFFFF),  # applicationId, variable length
        field_spec(12, 4),
        field_spec(1000, 0xFFFF, pen=9),  # an enterprise field, variable length
        field_spec(2, 4),
        field_spec(1, 4),
    ]
    rec1 = v4("10.1.1.1") + varlen(b"abc") + v4("10.2.2.2") + varlen(b"x" * 300)
    rec1 += struct.pack("!II", 7, 700)
    rec2 = v4("10.1.1.1") + varlen(b"") + v4("10.2.2.2") + varlen(b"y")
    rec2 += struct.pack("!II", 3, 300)
    d = FlowDecoder()
    out = d.decode(ipfix([template_set(2, 300, fields), data_set(300, [rec1, rec2])]), "e")
    assert out is not None
    conv = conversation_dict(conversations(out.records))
    assert conv == {("10.1.1.1", "10.2.2.2", 0, 0, 0): (1000, 10)}
    assert d.errors == {}


def test_options_sampling_and_interface_names_scale_conversations() -> None:
    d = FlowDecoder()
    opts = template_set(3, 400, [field_spec(10, 4), field_spec(34, 4), field_spec(82, 0xFFFF)], 1)
    opt_rec = struct.pack("!II", 3, 100) + varlen(b"Ethernet1/3")
    msg = ipfix(
        [
            opts,
            data_set(400, [opt_rec]),
            template_set(2, 256, FLOW_FIELDS),
            data_set(256, [flow("10.0.0.1", "10.0.0.2", 17, 53, 53, 100, 1)]),
        ]
    )
    out = d.decode(msg, "e")
    assert out is not None
    state = d.domains[("e", 10, 1)]
    assert state.interface_names == {3: "Ethernet1/3"}
    assert out.records["sampling_rate"].to_pylist() == [100]
    conv = conversation_dict(conversations(out.records))
    assert conv == {("10.0.0.1", "10.0.0.2", 17, 53, 53): (10000, 100)}


def test_withdrawal_and_scopes_per_exporter_and_domain() -> None:
    d = FlowDecoder()
    d.decode(ipfix([template_set(2, 256, FLOW_FIELDS)], domain=1), "a")
    rec = data_set(256, [flow("10.0.0.1", "10.0.0.2", 6, 1, 2, 3, 4)])
    # the same template id from another exporter or another domain is unknown there
    assert d.decode(ipfix([rec], domain=2), "a").records.num_rows == 0  # type: ignore[union-attr]
    assert d.decode(ipfix([rec], domain=1), "b").records.num_rows == 0  # type: ignore[union-attr]
    assert d.errors["unknown_template"] == 2
    assert d.decode(ipfix([rec], domain=1), "a").records.num_rows == 1  # type: ignore[union-attr]
    # withdrawal: a template record with no fields (RFC 7011 8.1)
    d.decode(ipfix([struct.pack("!HHHH", 2, 8, 256, 0)], domain=1), "a")
    assert d.decode(ipfix([rec], domain=1), "a").records.num_rows == 0  # type: ignore[union-attr]
    assert d.templates_known("a") == 0
    # an options template withdrawn by a 4-byte record in an options template set
    opts = template_set(3, 400, [field_spec(10, 4), field_spec(34, 4)], 1)
    d.decode(ipfix([opts], domain=1), "a")
    assert d.templates_known("a") == 1
    d.decode(ipfix([struct.pack("!HHHH", 3, 8, 400, 0)], domain=1), "a")
    assert d.templates_known("a") == 0
    assert d.errors["unknown_template"] == 3


def test_v9_template_and_data() -> None:
    d = FlowDecoder()
    out = d.decode(
        v9(
            [
                template_set(0, 260, FLOW_FIELDS),
                data_set(260, [flow("1.1.1.1", "2.2.2.2", 6, 1, 2, 3, 4)]),
            ]
        ),
        "e",
    )
    assert out is not None and out.records.num_rows == 1
    assert out.records["bytes"].to_pylist() == [3]


def test_sequence_tracker_counts_gaps_in_either_convention() -> None:
    t = SequenceTracker()
    for seq, steps in [(0, (10,)), (10, (5,)), (15, (5,)), (40, (5,))]:
        t.observe(seq, steps)
    assert t.lost == 20
    post = SequenceTracker()  # the number after the datagram's own records
    for seq, pair in [(24, (25, 24)), (56, (32, 32)), (60, (4, 4))]:
        post.observe(seq, pair)
    assert post.lost == 0
    wrap = SequenceTracker()
    wrap.observe(2**32 - 2, (1,))
    wrap.observe(3, (1,))
    assert wrap.lost == 4
    wrap.observe(1, (1,))
    assert wrap.resets == 1


@pytest.mark.parametrize(
    "datagram",
    [
        b"",
        b"\x00\x0a",
        b"\x00\x05\x00\x1e" + bytes(20),  # v5 claiming 30 records, carrying none
        b"\x00\x63" + bytes(30),  # unknown version
        ipfix([b"\x01\x00\x00\x40"]),  # a set longer than the message
        ipfix([template_set(2, 256, [field_spec(1, 4)] * 4)])[:30],  # truncated template
        ipfix([template_set(2, 256, [field_spec(1, 4)] * 16000)]),  # 16k fields
        ipfix([struct.pack("!HHHH", 2, 16, 256, 65535) + field_spec(1, 4) * 2]),  # claims 65535
        ipfix([template_set(2, 300, [field_spec(82, 0xFFFF)]), data_set(300, [b"\xff\xff\xff"])]),
        bytes(70000),
    ],
    ids=[
        "empty",
        "short",
        "v5-truncated",
        "version",
        "set-overrun",
        "tmpl-cut",
        "16k-fields",
        "65k-claimed",
        "varlen-overrun",
        "oversize",
    ],
)
def test_hostile_datagrams_are_counted_and_dropped(datagram: bytes) -> None:
    c = FlowCollector()
    c.datagram(datagram, "e")
    assert sum(c.decoder.errors.values()) >= 1
    # the collector goes on decoding
    ok = ipfix(
        [
            template_set(2, 256, FLOW_FIELDS),
            data_set(256, [flow("1.1.1.1", "2.2.2.2", 6, 1, 2, 3, 4)]),
        ]
    )
    assert c.datagram(ok, "e").records.num_rows == 1  # type: ignore[union-attr]


def test_template_flood_is_bounded() -> None:
    d = FlowDecoder(Limits(max_templates=10))
    sets = [template_set(2, 256 + i, FLOW_FIELDS) for i in range(50)]
    d.decode(ipfix(sets), "e")
    assert d.templates_known("e") == 10
    assert d.errors["template_limit"] == 40


def test_floods_of_domains_samplers_names_and_fields_are_bounded() -> None:
    limits = Limits(max_exporters=5, max_samplers=3, max_interfaces=4, max_total_fields=15)
    d = FlowDecoder(limits)
    for domain in range(8):  # observation domains beyond the limit are not kept
        d.decode(ipfix([template_set(2, 256, FLOW_FIELDS[:2])], domain=domain), "e")
    assert len(d.domains) == 5 and d.errors["exporter_limit"] == 3
    assert d.total_fields == 10
    # 7 fields more would pass 15 in all: refused, though the domain has room
    d.decode(ipfix([template_set(2, 257, FLOW_FIELDS)], domain=0), "e")
    assert d.errors["template_limit"] == 1 and d.total_fields == 10
    # a withdrawal gives its fields back
    d.decode(ipfix([struct.pack("!HHHH", 2, 8, 256, 0)], domain=0), "e")
    assert d.total_fields == 8
    # samplers and interface names from options records, each kept up to its limit
    d = FlowDecoder(limits)
    sampler = template_set(3, 400, [field_spec(48, 4), field_spec(34, 4)], 1)
    named = template_set(3, 401, [field_spec(10, 4), field_spec(82, 0xFFFF)], 1)
    rows = [struct.pack("!II", i, 10 + i) for i in range(6)]
    names = [struct.pack("!I", i) + varlen(b"x" * 300) for i in range(6)]
    d.decode(ipfix([sampler, named, data_set(400, rows), data_set(401, names)]), "e")
    state = d.domains[("e", 10, 1)]
    assert state.sampler_rates == {0: 10, 1: 11, 2: 12} and d.errors["sampler_limit"] == 3
    assert sorted(state.interface_names) == [0, 1, 2, 3]
    assert {len(n) for n in state.interface_names.values()} == {255}  # ifName is <= 255
    # a "rate" wider than the 32-bit column is no rate
    wide = template_set(3, 402, [field_spec(10, 4), field_spec(34, 8)], 1)
    d.decode(ipfix([wide, data_set(402, [struct.pack("!IQ", 1, 2**40)])]), "e")
    assert d.errors["bad_sampling_rate"] == 1 and state.sampling_rate == 0


def test_options_per_exporter_and_domain_round_trip() -> None:
    d = FlowDecoder()
    opts = template_set(3, 400, [field_spec(10, 4), field_spec(34, 4), field_spec(82, 0xFFFF)], 1)
    for domain, name in ((1, b"Ethernet1/3"), (2, b"ge-0/0/1")):
        rec = struct.pack("!II", 3, 100 * domain) + varlen(name)
        d.decode(ipfix([opts, data_set(400, [rec])], domain=domain), "192.0.2.1")
    d.decode(ipfix([template_set(2, 256, FLOW_FIELDS)], domain=3), "192.0.2.1")
    options = d.options("192.0.2.1")
    assert [(o.domain, o.sampling_rate, dict(o.interface_names)) for o in options] == [
        (1, 100, {3: "Ethernet1/3"}),
        (2, 200, {3: "ge-0/0/1"}),
    ]
    assert d.options("192.0.2.99") == []
    from network_discovery.flows.decode import DomainOptions

    assert [DomainOptions.from_dict(o.to_dict()) for o in options] == options
    with pytest.raises(ValueError):
        DomainOptions.from_dict({**options[0].to_dict(), "domain": -1})
    with pytest.raises(ValueError):
        DomainOptions.from_dict(
            {**options[0].to_dict(), "interface_names": {str(i): "x" for i in range(70000)}}
        )
