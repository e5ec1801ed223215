"""Read: build info from a generated module, imported."""

import sys

from .info import DEFAULT_MODULE, BuildInfo


def build_info(package: str, module: str = DEFAULT_MODULE, *, git: bool = False) -> BuildInfo:
    """The build info stamped into `package` (its `_buildinfo` module).

    Without one — a source checkout, a package built without the hook — the installed
    metadata gives the version and dependencies, the revision is "unknown", and with
    `git=True` the checkout's git is asked for revision, branch and dirty state. Given the name
    of an installed distribution instead, it reads the one generated module that distribution
    installs; failing that, ModuleNotFoundError says to pass the import package.
    """
    name = f"{package}.{module}"
    try:
        __import__(name)  # importing `importlib` for import_module would cost more than the module itself
    except ModuleNotFoundError as error:
        if error.name == name:
            from .fallback import from_metadata

            return from_metadata(package, git=git)
        if not error.name or not f"{package}.".startswith(f"{error.name}."):
            raise  # something `package` imports is missing, not `package` itself
        # No package `package` at all: it may name the distribution that installs one.
        from .fallback import generated_module_of

        name = generated_module_of(package, module)
        __import__(name)
    return BuildInfo.from_mapping(vars(sys.modules[name]))
