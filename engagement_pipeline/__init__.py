"""Account engagement pipeline: Segment-style product events -> account-level engagement.

Great Expectations imports pyspark when it is installed (the `spark` and `test` extras), and
pyspark then warns about the pandas version on stderr of every command; the Spark engine does not
use pandas, so that one warning is silenced for the whole package (commands print one sentence).
Dagster marks `Definitions.map_asset_specs` (how `definitions.py` applies the layer policies) as a
preview: the project pins Dagster's version, so that notice is silenced too. Before the checks
imported Great Expectations lazily, GX's import happened to swallow it.
"""

import warnings

warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
warnings.filterwarnings(
    "ignore", message=r"Function `Definitions\.map_(resolved_)?asset_specs` is currently in preview"
)
