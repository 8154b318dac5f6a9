"""`start_date` as a date or as "N days ago" (UTC), so the demo's days can end yesterday.

With a fixed date, the demo's 60 days sat months in the past and the UI's partition bar read
"17% filled": every day from the start date to yesterday is a partition. The repository's
engagement.yaml says `start_date: 60 days ago`, so `make demo` (60 days from there) fills
every partition up to yesterday. A date in YYYY-MM-DD form keeps its meaning.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_RELATIVE = re.compile(r"^\s*(\d{1,5})\s+days?\s+ago\s*$", re.IGNORECASE)


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def relative_date(value: Any) -> Any:
    """'N days ago' -> the UTC date N days before today; anything else is left to pydantic's date parsing."""
    if isinstance(value, str) and (match := _RELATIVE.match(value)):
        return today_utc() - dt.timedelta(days=int(match.group(1)))
    return value


StartDate = Annotated[dt.date, BeforeValidator(relative_date)]
