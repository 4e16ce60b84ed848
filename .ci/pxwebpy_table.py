"""Reads a published table through pxwebpy, as an analyst reads SCB's tables: every region,
content and half-year into a pandas data frame. Prints the table list's ids and the frame's
rows (codes and values) as JSON, which tests/api/pxweb_client.rs compares with the API's
own answer.

Usage: pxwebpy_table.py BASE_URL TABLE_ID
"""

import json
import sys

import pandas as pd
from pxweb import PxApi


def main() -> None:
    base, table = sys.argv[1], sys.argv[2]
    api = PxApi(base, language="sv")
    tables = [listed["id"] for listed in api.all_tables()]
    data = api.get_table_data(
        table,
        value_codes={"Region": ["*"], "ContentsCode": ["*"], "Tid": ["*"]},
        show="code",
    )
    frame = pd.DataFrame(data)
    print(
        json.dumps(
            {
                "tables": tables,
                "columns": list(frame.columns),
                "rows": json.loads(frame.to_json(orient="records")),
            }
        )
    )


if __name__ == "__main__":
    main()
