"""The Parquet lake: many organisations' snapshots, audits and findings in one place
(``gwaudit export --lake``, ``gwaudit fleet ...``; docs/lake.md).

* :mod:`.store` - the lake's layout, partition writes (aside, then renamed) and reads;
* :mod:`.export` - a database into the lake;
* :mod:`.fleet` - DuckDB views spanning every org, ``fleet sql``;
* :mod:`.audit` - the unchanged rule engine on each org's latest snapshot, by DuckDB or Spark
  (:mod:`.spark`);
* :mod:`.report` - the fleet report.
"""

from .export import ExportResult, export
from .store import Lake

__all__ = ["ExportResult", "Lake", "export"]
