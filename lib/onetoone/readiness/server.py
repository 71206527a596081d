"""Voila with the survey's front door: ``python -m onetoone.readiness.server NOTEBOOK [voila options]``.

The same Voila application ``python -m voila`` runs, with :func:`onetoone.readiness.gate.survey_gate`
as its ``prelaunch_hook`` (a Python callable, which voila.json cannot carry). ``onetoone survey
serve`` and the tests start the survey this way (see :func:`onetoone.readiness.admin.voila_command`).
"""

from __future__ import annotations

import sys

from voila.app import Voila

from .gate import survey_gate


class SurveyVoila(Voila):
    """Voila whose every page request goes through :func:`survey_gate` first."""

    def initialize(self, argv=None):
        super().initialize(argv)
        self.voila_configuration.prelaunch_hook = survey_gate


def main(argv: list[str] | None = None) -> None:
    SurveyVoila.launch_instance(argv=argv)


if __name__ == "__main__":
    main(sys.argv[1:])
