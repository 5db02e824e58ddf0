"""listenspec: an executable formal specification of listen(2).

The Python API for checking a trace (docs/format.md, "Checking a trace from Python"):

    import listenspec

    trace = listenspec.parse(text, "mystack.trace", trace=True)   # ListenspecError if malformed
    report = listenspec.CheckReport.of(trace, "linux", keep_going=True)
    report.ok, report.first_difference, report.as_json()
    verdicts = listenspec.check(trace, "linux")                   # one Verdict per line judged
"""

__version__ = "0.1.0"

from .checker import Verdict, check
from .checkreport import CheckReport
from .errors import ListenspecError
from .models.profiles import PROFILES, Profile
from .results import Result, render
from .script import Script, Step, parse

__all__ = ["PROFILES", "CheckReport", "ListenspecError", "Profile", "Result", "Script", "Step",
           "Verdict", "__version__", "check", "parse", "render"]
