"""Account engagement pipeline: Segment-style product events -> account-level engagement.

Great Expectations imports pyspark when it is installed (the `spark` and `test` extras), and
pyspark then warns about the pandas version on stderr of every command; the Spark engine does not
use pandas, so that one warning is silenced for the whole package (commands print one sentence).
"""

import warnings

warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
