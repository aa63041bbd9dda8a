"""Demo imagery loaded by `manage.py load_demo` (issue 4 fills this in)."""


def load(stdout=None) -> None:
    return None
