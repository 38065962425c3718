"""Ansible: ``meshq-ansible-inventory`` (:mod:`.script`), a dynamic-inventory script that
prints the inventory the REST API builds from the graph (``GET /inventory/ansible``)."""
