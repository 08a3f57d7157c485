#!/usr/bin/python3
"""check_textfile: validates node_exporter textfile (.prom) files in the Prometheus text format 0.0.4.

Usage: check_textfile.py [--require NAME]... [--no-parser] FILE...

Rules (the same as tests/unit/test_metrics.c): the file is UTF-8 and ends with a newline;
every line is a comment ("# HELP name text", "# TYPE name counter|gauge|histogram|summary|
untyped", or any other "# ...") or a sample "name{label="value",...} value" matching the
sample expression below, whose value is a float, NaN, +Inf or -Inf (no timestamp: the
textfile collector refuses them); label values escape only \\, \" and \n; a sample has no
label name twice; every family has at most one HELP and exactly one TYPE line, both before
its samples; a family's samples are contiguous; no series (name and label set) appears
twice. When python3-prometheus-client is installed (Debian package of that name), the text
is also parsed with prometheus_client.parser.text_string_to_metric_families, unless
--no-parser is given. --require NAME fails when no sample of family NAME is present.

Exit status: 0 valid, 1 invalid (the offending "FILE:LINE: why: text" on stderr), 2 usage.
"""

import re
import sys

SAMPLE_RE = re.compile(
    r'^[a-zA-Z_:][a-zA-Z0-9_:]*'
    r'(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})?'
    r' (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$')
NAME_RE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')
TYPES = ('counter', 'gauge', 'histogram', 'summary', 'untyped')


class Invalid(Exception):
    """A rule is broken at line `lineno`."""

    def __init__(self, lineno, why, line):
        super().__init__(f'{lineno}: {why}: {line}' if lineno else f' {why}: {line}')


def parse_labels(text, lineno, line):
    """Returns the sorted (name, value) pairs of a '{...}' block (without braces)."""
    labels = {}
    for m in LABEL_RE.finditer(text):
        name, raw = m.group(1), m.group(2)
        if any(m.group(1) not in '\\"n' for m in re.finditer(r'\\(.)', raw)):
            raise Invalid(lineno, 'bad escape in a label value (only \\\\ \\" \\n)', line)
        if name in labels:
            raise Invalid(lineno, f'label {name} given twice', line)
        labels[name] = raw
    return tuple(sorted(labels.items()))


def family_of(name, families):
    """The declared family of sample `name` (histogram/summary samples carry suffixes)."""
    if name in families:
        return name
    for suffix in ('_bucket', '_sum', '_count'):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and families.get(base, {}).get('type') in ('histogram', 'summary'):
            return base
    return None


def check_text(text):
    """Raises Invalid at the first broken rule; returns {family: number of samples}."""
    if not text.endswith('\n'):
        raise Invalid(len(text.split('\n')), 'the text does not end with a newline', text.split('\n')[-1])
    families = {}
    series = set()
    current = None
    for lineno, line in enumerate(text[:-1].split('\n'), 1):
        if line.startswith('#'):
            parts = line.split(None, 3)
            if len(parts) < 3 or parts[1] not in ('HELP', 'TYPE'):
                continue  # a plain comment
            kw, name = parts[1], parts[2]
            if not NAME_RE.match(name):
                raise Invalid(lineno, 'bad metric name', line)
            fam = families.setdefault(name, {'help': False, 'type': None, 'samples': 0, 'closed': False})
            if fam['samples'] or fam['closed']:
                raise Invalid(lineno, f'{kw} after the samples of its family', line)
            if kw == 'HELP':
                if fam['help']:
                    raise Invalid(lineno, 'second HELP line', line)
                fam['help'] = True
            else:
                if fam['type']:
                    raise Invalid(lineno, 'second TYPE line', line)
                if len(parts) != 4 or parts[3] not in TYPES:
                    raise Invalid(lineno, 'unknown metric type', line)
                fam['type'] = parts[3]
            if current and current != name:
                families[current]['closed'] = True
            current = name
            continue
        if not SAMPLE_RE.match(line):
            raise Invalid(lineno, 'not a sample line', line)
        head, value = line.rsplit(' ', 1)
        if value not in ('NaN', '+Inf', '-Inf'):
            try:
                float(value)
            except ValueError:
                raise Invalid(lineno, 'not a float value', line) from None
        name = re.match(r'[a-zA-Z0-9_:]*', head).group(0)
        base = family_of(name, families)
        if base is None or not families[base]['type']:
            raise Invalid(lineno, 'sample without a preceding TYPE line', line)
        fam = families[base]
        if fam['closed']:
            raise Invalid(lineno, f'family {base} continues after another family', line)
        if current and current != base:
            families[current]['closed'] = True
        current = base
        key = (name, parse_labels(head[len(name) + 1:-1], lineno, line) if '{' in head else ())
        if key in series:
            raise Invalid(lineno, 'duplicate series', line)
        series.add(key)
        fam['samples'] += 1
    return {name: fam['samples'] for name, fam in families.items()}


def check_with_parser(text):
    """Parses with prometheus_client when it is installed; returns False when it is not."""
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        return False
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if not isinstance(sample.value, float):
                    raise ValueError(f'sample {sample.name} has no float value')
    except Exception as e:  # the parser raises ValueError and friends
        raise Invalid(None, 'prometheus_client refuses the text', str(e)) from None
    return True


def main(argv):
    required, files, use_parser = [], [], True
    args = iter(argv[1:])
    for a in args:
        if a == '--require':
            name = next(args, None)
            if name is None:
                print('usage: check_textfile.py [--require NAME]... [--no-parser] FILE...', file=sys.stderr)
                return 2
            required.append(name)
        elif a == '--no-parser':
            use_parser = False
        elif a in ('-h', '--help'):
            print(__doc__)
            return 0
        elif a.startswith('-') and a != '-':
            print(f'check_textfile.py: unknown option {a}', file=sys.stderr)
            return 2
        else:
            files.append(a)
    if not files:
        print('usage: check_textfile.py [--require NAME]... [--no-parser] FILE...', file=sys.stderr)
        return 2
    rc = 0
    for path in files:
        try:
            with (sys.stdin.buffer if path == '-' else open(path, 'rb')) as f:
                raw = f.read()
        except OSError as e:
            print(f'{path}: {e.strerror}', file=sys.stderr)
            rc = 1
            continue
        try:
            text = raw.decode('utf-8')
        except UnicodeDecodeError as e:
            line = raw[:e.start].count(b'\n') + 1
            print(f'{path}:{line}: not UTF-8', file=sys.stderr)
            rc = 1
            continue
        try:
            counts = check_text(text)
            parsed = use_parser and check_with_parser(text)
        except Invalid as e:
            print(f'{path}:{e}', file=sys.stderr)
            rc = 1
            continue
        missing = [n for n in required if not counts.get(n)]
        if missing:
            print(f'{path}: no sample of {", ".join(missing)}', file=sys.stderr)
            rc = 1
            continue
        print(f'{path}: ok, {len(counts)} families, {sum(counts.values())} samples'
              f'{", prometheus_client parser ok" if parsed else ""}')
    return rc


if __name__ == '__main__':
    sys.exit(main(sys.argv))
