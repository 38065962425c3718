"""MeshOptixIQ flow-collector service: NetFlow v5/v9 and IPFIX over UDP, decoded records
batched per exporter onto ``meshq.flows.records``."""
