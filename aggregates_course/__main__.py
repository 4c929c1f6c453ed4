"""``python -m aggregates_course`` runs the same CLI as ``aggregates-course``."""

from aggregates_course.course.cli import main

raise SystemExit(main())
