"""Read YAML while remembering the line of every mapping, sequence, key and item.

Mappings load as `LineDict`, sequences as `LineList`: plain dict/list subclasses that
also carry `.line` (where the node starts) and `.lines` (key or index -> line of that
entry). `line_at(document, path)` turns a path such as ("problems", 3, "answer") into
the line of the deepest entry that exists, so any error can name file:line.
Lines are 1-based.
"""

from typing import Any

import yaml


class LineDict(dict):
    line = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines: dict[Any, int] = {}


class LineList(list):
    line = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines: dict[Any, int] = {}


# libyaml's parser when PyYAML was built with it (about 10x faster; same nodes and marks).
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LineLoader(_SAFE_LOADER):
    """A safe loader whose mappings and sequences record the lines of their entries."""

    def construct_mapping(self, node: Any, deep: Any=False) -> Any:
        if not isinstance(node, yaml.MappingNode):
            return super().construct_mapping(node, deep=deep)
        self.flatten_mapping(node)
        mapping = LineDict()
        mapping.line = node.start_mark.line + 1
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError as exc:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    "found an unhashable key", key_node.start_mark) from exc
            if key in mapping:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found a duplicate key {key!r}", key_node.start_mark)
            mapping[key] = self.construct_object(value_node, deep=deep)
            mapping.lines[key] = key_node.start_mark.line + 1
        return mapping

    def construct_line_sequence(self, node: Any) -> Any:
        sequence = LineList()
        sequence.line = node.start_mark.line + 1
        for index, child in enumerate(node.value):
            sequence.append(self.construct_object(child, deep=True))
            sequence.lines[index] = child.start_mark.line + 1
        return sequence

    def construct_line_mapping(self, node: Any) -> Any:
        return self.construct_mapping(node, deep=True)


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, LineLoader.construct_line_mapping)
LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, LineLoader.construct_line_sequence)


class YamlSyntaxError(Exception):
    """The text is not YAML; `.line` says where the parser stopped."""

    def __init__(self, line: Any, message: Any) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def load_yaml(text: Any) -> Any:
    """Parse YAML text into LineDict/LineList/scalars; raise YamlSyntaxError with a line."""
    try:
        return yaml.load(text, Loader=LineLoader)  # noqa: S506 (LineLoader is a safe loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        message = " ".join(part for part in (exc.context, exc.problem) if part)
        raise YamlSyntaxError(line, f"YAML: {message}") from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(1, f"YAML: {exc}") from exc


def line_at(document: Any, path: Any, default: Any=1) -> Any:
    """Line of the deepest entry of `path` (keys and indices) that exists in `document`."""
    line = getattr(document, "line", 0) or default
    node = document
    for step in path:
        lines = getattr(node, "lines", None)
        if lines is None or step not in lines:
            break
        line = lines[step]
        node = node[step]
    return line


def plain(value: Any) -> Any:
    """The same data as plain dicts and lists (for hashing, JSON and copies given to users)."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value
