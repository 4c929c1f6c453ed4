"""The environment variables through which the CLI instructs its pytest plugin: one name each.

:mod:`~aggregates_course.course.launch` sets them for a run, and
:mod:`~aggregates_course.course.pytest_results` reads them inside pytest. They
live apart from both because the plugin may import nothing else of the course
while tests run: Hypothesis draws example values from the constants of every
course module imported (``hypothesis.internal.constants_ast``), so each
module the plugin brought in would change the examples a learner's run tries.
Names longer than twenty characters are not among the constants it draws.
"""

#: Where the plugin writes its report (a path).
REPORT_ENV = "AGGREGATES_COURSE_REPORT"
#: How many seconds the run may take before the plugin stops it with a stack dump.
TIME_LIMIT_ENV = "AGGREGATES_COURSE_TIME_LIMIT"
#: A pipe the warm runner waits on; the plugin closes it once the report is written.
DONE_FD_ENV = "AGGREGATES_COURSE_DONE_FD"
