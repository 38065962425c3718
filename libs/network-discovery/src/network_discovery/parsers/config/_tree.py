"""The lines under a configuration block as a tree, by their indentation (NX-OS ``router bgp``
with its ``neighbor`` and ``address-family`` levels, EOS ``router bgp`` with its ``vrf``
blocks): what the routing readers of those configurations walk."""

from __future__ import annotations

from dataclasses import dataclass, field

from network_discovery.parsers.config._blocks import Block

__all__ = ["Node", "block_tree"]


@dataclass
class Node:
    """A line (its number, text and words) and the lines indented under it."""

    line: int
    text: str
    children: list[Node] = field(default_factory=list)

    @property
    def words(self) -> list[str]:
        return self.text.split()


def block_tree(block: Block) -> list[Node]:
    """The lines under ``block``, each with the lines indented deeper under it."""
    roots: list[Node] = []
    stack: list[tuple[int, Node]] = []
    indents = block.indents or [0] * len(block.children)
    for (number, text), indent in zip(block.children, indents, strict=True):
        node = Node(number, text)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        (stack[-1][1].children if stack else roots).append(node)
        stack.append((indent, node))
    return roots
