"""The bundled demo network: every inter-switch link is found from both ends."""

from meshq_graph_engine.derive import derive_all
from network_discovery.demo import load_snapshot


def test_demo_inter_switch_links_are_lldp_both():
    snapshot = load_snapshot()
    derived = derive_all(snapshot)
    managed = {d.id for d in snapshot.devices}
    inter = [
        link for link in derived.links if link.a.device in managed and link.b.device in managed
    ]
    # every LLDP entry between two collected devices has its partner: one link per pair
    lldp_ends = {
        (n.device, n.interface)
        for n in snapshot.neighbors
        if n.protocol == "lldp" and (n.remote_system_name or "").split(".")[0].lower() in managed
    }
    assert len(lldp_ends) == 140 and len(inter) == 70
    assert {link.evidence.value for link in inter} == {"lldp_both"}
    assert {(r.device, r.interface) for link in inter for r in (link.a, link.b)} == lldp_ends
    assert all(not d.managed for d in derived.unmanaged)
    assert not {d.id for d in derived.unmanaged} & managed
