"""Course tooling: the learner's command line, and the running of an exercise's tests.

Where each job lives, one module each (who calls it in brackets):

The command line (``aggregates-course``)
    ``cli``: the parser, ``main`` and one handler per command (the entry
    point). ``app``: one invocation, and the questions every command asks
    (the commands). ``checking``: ``status`` and ``check``; ``watch``:
    checking on every save, a state machine over saves, keys and ticks;
    ``watching``: what wakes it (``watch``); ``guidance``: ``hint``,
    ``reset`` and ``solution``; ``results``: ``results --json``;
    ``doctor``: its checks and their printing; ``demo``. ``render``: runs
    and problems as text (``checking``, ``app``); ``console``: terminal
    output (everything that prints).

Running an exercise's tests
    ``checkout``: progress, ``Course``: the state, the cache of results and
    the next pending exercise (``app``). ``runner``: one run of pytest
    (``checkout``, ``pristine``); ``reading``: a report read into an
    ``ExerciseRun`` (``runner``, the course gate); ``outcomes``: the outcome
    model and its one JSON form (everything above, the cache, the plugin).
    ``launch``: how pytest is started and for how long (``runner``);
    ``warm``: the warm pytest ``watch`` forks; ``pytest_results``: the
    plugin, ``ResultsReporter``, inside pytest; ``plugin_env``: the names
    through which the CLI instructs it (``launch``, the plugin).

The course's files and the learner's state
    ``catalog``: ``exercises/exercises.toml``, and each exercise's files,
    fingerprint and availability. ``shipped``: the exercises as shipped,
    and putting a stub back from them (``guidance``, ``doctor``);
    ``pristine``: the maintainers' command that records them. ``target``:
    which implementation the tests import (the root conftest).
    ``decoys``. ``state``, ``lock``, ``files`` and ``shapes``: the state
    folder, written safely and read back with every field checked.
"""
