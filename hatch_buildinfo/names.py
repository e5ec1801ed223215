"""Names: the PEP 503 form of a project name, and the program name metrics use. Stdlib only."""


def normalize_name(name: str) -> str:
    """The PEP 503 form of a project name: runs of `-`, `_` and `.` become one `-`, all lower-case."""
    text = name.replace("_", "-").replace(".", "-")
    while "--" in text:
        text = text.replace("--", "-")
    return text.lower()


def program_name(name: str) -> str:
    """The program a project or package name stands for in metrics: `-` and `.` become `_`."""
    return name.replace("-", "_").replace(".", "_")
