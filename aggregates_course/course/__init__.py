"""Course tooling: the learner's command line, and the running of an exercise's tests.

Where each job lives, one module each:

The command line (``aggregates-course``)
    ``cli``: the parser, ``main`` (the entry point) and the dispatch.
    ``app``: one invocation (``App``) and what every command asks of it.
    ``checking``: ``status`` and ``check``. ``watch``: checking on every
    save; ``watching``: what wakes it (saved files, key presses).
    ``guidance``: ``hint``, ``reset`` and ``solution``. ``results``:
    ``results --json``. ``doctor``. ``demo``. ``console``: terminal output.

Running an exercise's tests
    ``checkout``: ``Course``, a learner's checkout, its state and its cache
    of results. ``runner``: one run of an exercise's tests, read into an
    ``ExerciseRun``. ``outcomes``: ``ExerciseRun`` and its parts, and their
    JSON. ``launch``: how pytest is started and how long it may run;
    ``warm``: the warm pytest that ``watch`` forks; ``pytest_results``: the
    plugin inside pytest.

The course's files and the learner's state
    ``catalog``: ``exercises/exercises.toml``. ``pristine``: the exercises as
    shipped. ``target``: which implementation the tests import. ``decoys``.
    ``state``, ``lock``, ``files`` and ``shapes``: the state folder, written
    safely and read back with every field checked.
"""
