"""What the parsers work out from configurations rather than read from a device: the routing
tables that OSPF and BGP settings imply (:mod:`network_discovery.derive.routing`).

Links, unmanaged neighbours, endpoints and subnets are derived by the graph engine, over
every fact in the graph (``meshq_graph_engine.derive``).
"""
