#!/usr/bin/env python3
"""Reads YAML files with libyaml (PyYAML's CSafeLoader), as cfn-lint and CloudFormation do, and
prints each file's tree as one JSON line, for tests/it/yaml_diff.rs to compare with atrest's.

Usage: yaml_diff.py FILE...   (or the file names one a line on standard input)

Each line is {"file": F, "tree": T} or {"file": F, "error": {"line", "column", "message"}},
lines and columns 1-based. In T a scalar is its text as written, except a null (`~`, `null`,
empty), which is null, and the YAML 1.2 core booleans (`true`, `False`, ...), written lower
case: how the value is typed beyond that is not compared (YAML 1.1 reads `yes` as a boolean,
1.2 as a string; CloudFormation takes both as text). A map is a list of [key, value] pairs in
order, a duplicate key keeping its first place with its last value (as PyYAML and
CloudFormation read it); a list is a list; a CloudFormation short-form tag
(`!Ref X`) is the long form ({"Ref": X} as a one-pair map). An alias is null where it is used,
and `yaml.__with_libyaml__` must be true: exit 3 otherwise, so the test can skip visibly.
"""

import json
import sys

try:
    import yaml
except ImportError:
    print("PyYAML is not installed", file=sys.stderr)
    sys.exit(3)
if not getattr(yaml, "__with_libyaml__", False):
    print("PyYAML is installed without libyaml", file=sys.stderr)
    sys.exit(3)

CFN_TAGS = {
    "Ref", "Condition", "Base64", "Cidr", "FindInMap", "GetAtt", "GetAZs", "ImportValue",
    "Join", "Select", "Split", "Sub", "Transform", "And", "Equals", "If", "Not", "Or",
    "Contains", "EachMemberEquals", "EachMemberIn", "RefAll", "ValueOf", "ValueOfAll",
    "ToJsonString", "Length",
}

NULL_TAG = "tag:yaml.org,2002:null"
BOOL_TAG = "tag:yaml.org,2002:bool"
CORE_BOOLS = {"true", "True", "TRUE", "false", "False", "FALSE"}


def scalar(node):
    # libyaml's plain style is "" (PyYAML's own parser says None).
    if not node.style and node.tag == NULL_TAG:
        return None
    if node.tag == BOOL_TAG and node.value in CORE_BOOLS:
        return node.value.lower()
    return node.value


def tree(node, seen):
    if id(node) in seen:
        return None  # an alias: atrest does not expand them
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode):
        value = scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = [tree(n, seen) for n in node.value]
    else:
        pairs, keys = [], {}
        for k, v in node.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else tree(k, seen)
            if not isinstance(key, str):
                key = json.dumps(key)
            value_tree = tree(v, seen)
            if key in keys:
                pairs[keys[key]][1] = value_tree
            else:
                keys[key] = len(pairs)
                pairs.append([key, value_tree])
        value = pairs
    tag = node.tag
    if tag.startswith("!") and not tag.startswith("!!"):
        name = tag[1:]
        if name in CFN_TAGS or name.startswith("Rain::"):
            long = name if name in ("Ref", "Condition") or name.startswith("Rain::") else "Fn::" + name
            return [[long, value]]
    return value


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return {"error": {"line": None, "column": None, "message": f"not UTF-8: {e}"}}
    root = None
    try:
        for i, doc in enumerate(yaml.compose_all(text, Loader=yaml.CSafeLoader)):
            if i == 0:
                root = doc
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        return {
            "error": {
                "line": mark.line + 1 if mark else None,
                "column": mark.column + 1 if mark else None,
                "message": f"{e.context or ''} {e.problem or ''}".strip(),
            }
        }
    except yaml.YAMLError as e:
        return {"error": {"line": None, "column": None, "message": str(e)}}
    return {"tree": None if root is None else tree(root, set())}


def main():
    files = sys.argv[1:] or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    for path in files:
        out = {"file": path}
        out.update(read(path))
        print(json.dumps(out))


if __name__ == "__main__":
    main()
