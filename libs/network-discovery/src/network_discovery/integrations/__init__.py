"""Integrations with the tools around the graph: NetBox (sync both ways) and Ansible
(dynamic inventory). Installed with the ``[integrations]`` extra."""
