"""Raw lines -> Segment messages or quarantine reasons, in one vectorised DuckDB pass.

DuckDB's JSON functions validate and extract every field without a Python loop (the
fastest parser measured on this machine, see the README's "Performance"). Each line gets
exactly one outcome: accepted, or the first reason in `REASONS` order that applies.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from engagement_pipeline.core.config_sources import DEFAULT_SOURCE
from engagement_pipeline.core.vocab import MessageType, values

MESSAGE_TYPES: tuple[str, ...] = tuple(values(MessageType))

# Reason codes, in the order they are tested; the first that applies is recorded.
REASONS: dict[str, str] = {
    "invalid_utf8": "the line is not valid UTF-8",
    "nul_byte": "the line contains a NUL byte",
    "truncated_file": "the file ends in the middle of this line (truncated or corrupt gzip)",
    "unsupported_file_type": "the file type is not a supported input format",
    "unreadable_file": "the file cannot be read at all (e.g. corrupt Parquet)",
    "line_too_long": "the line is longer than raw.max_line_bytes; only its first KiB is kept",
    "file_too_large": "the file passed a raw: cap (decompressed size or compression ratio): not read, "
    "the line holds which cap",
    "not_a_regular_file": "the landed entry is a symlink, FIFO, device or socket, not a regular file: it is not read",
    "bad_csv": "the CSV record cannot be parsed",
    "csv_wrong_field_count": "the CSV record has more or fewer fields than the header",
    "empty_line": "the line is empty",
    "not_json": "the line is not valid JSON",
    "not_an_object": "the JSON value is not an object",
    "missing_type": "no `type` field",
    "unknown_type": f"`type` is not one of {', '.join(MESSAGE_TYPES)}",
    "wrong_field_type": "a field has the wrong JSON type",
    "missing_identity": "neither `userId` nor `anonymousId`",
    "missing_event": "a track call without `event`",
    "missing_group_id": "a group call without `groupId`",
    "missing_previous_id": "an alias call without `previousId`",
    "id_too_long": "an id is longer than staging.max_id_length",
    "missing_timestamp": "no timestamp, originalTimestamp or receivedAt",
    "bad_timestamp": "a timestamp that cannot be parsed",
    "timestamp_out_of_range": "a timestamp before 2000 or more than a day after receipt",
}

# The columns every judged line has, whichever engine judges it (DuckDB here, or the same SQL in
# Spark's Python workers, `staging/spark_engine.py`): one row per input line, `reason` null when
# accepted. The Spark engine declares its schema from this, so both engines share one list.
PARSED_SCHEMA: dict[str, pl.DataType] = {
    "received_date": pl.Date(),
    "source_file": pl.String(),
    "line_number": pl.Int64(),
    "line": pl.String(),
    "encoding": pl.String(),
    "source": pl.String(),
    "reason": pl.String(),
    "detail": pl.String(),
    "message_id": pl.String(),
    "type": pl.String(),
    "event": pl.String(),
    "name": pl.String(),
    "user_id": pl.String(),
    "anonymous_id": pl.String(),
    "group_id": pl.String(),
    "context_group_id": pl.String(),
    "previous_id": pl.String(),
    "traits": pl.String(),
    "timestamp": pl.Datetime("us"),
    "event_date": pl.Date(),
    "received_at": pl.Datetime("us"),
}

_ID_TYPES = "('VARCHAR', 'BIGINT', 'UBIGINT')"
_ID_FIELDS = {
    "message_id": "$.messageId",
    "user_id": "$.userId",
    "anonymous_id": "$.anonymousId",
    "group_id": "$.groupId",
    "context_group_id": "$.context.groupId",
    "previous_id": "$.previousId",
}
_TEXT_FIELDS = {"type_raw": "$.type", "event": "$.event", "name": "$.name"}
_OBJECT_FIELDS = {"traits": "$.traits", "properties": "$.properties", "context": "$.context"}
_TIME_FIELDS = {
    "ts_timestamp": "$.timestamp",
    "ts_original": "$.originalTimestamp",
    "ts_sent": "$.sentAt",
    "ts_received": "$.receivedAt",
}


# A timestamp must start with a date with a 4-digit year (YYYY-MM-DD): this keeps out epoch
# numbers as strings (seconds or milliseconds? ambiguous), DuckDB's special words ("epoch",
# "infinity"), BC dates and 5+ digit years. What follows is DuckDB's ISO 8601 parser: a "T" or a
# space, an optional fraction, and "Z", a numeric offset or a zone name; no zone means UTC (the
# session time zone is UTC while parsing, see `parse_lines`). RFC 3339 allows a lowercase "t" and
# "z", which DuckDB does not: they are upper-cased first.
_TIMESTAMP_SHAPE = r"^\s*[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ]|\s*$)"


def _timestamp_sql(text: str) -> str:
    upper = (
        rf"regexp_replace(regexp_replace({text}, '^(\s*[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}})t', '\1T'), "
        rf"'([0-9])z(\s*)$', '\1Z\2')"
    )
    return (
        f"CASE WHEN regexp_matches({text}, '{_TIMESTAMP_SHAPE}') "
        f"THEN coalesce(TRY_CAST({text} AS TIMESTAMPTZ), TRY_CAST({upper} AS TIMESTAMPTZ)) END"
    )


# JSON's insignificant whitespace, plus form feed and vertical tab: a line of only these is empty.
_BLANK = " \t\n\r\f\v"


def _parse_sql(max_id_length: int, source: str = "_lines", accepted_lines: bool = True) -> str:
    # Every field is pulled out in ONE json_extract over a list of paths, so each line is
    # parsed once; ->> then reads the small extracted values (a json_extract_string list
    # measured slower).
    paths = [*_ID_FIELDS.values(), *_TEXT_FIELDS.values(), *_OBJECT_FIELDS.values(), *_TIME_FIELDS.values()]
    index = {path: i + 1 for i, path in enumerate(paths)}

    def value(path: str) -> str:
        return f"v[{index[path]}]"

    def kind(path: str) -> str:
        return f"t{index[path]}"

    def present(path: str) -> str:
        return f"({kind(path)} IS NOT NULL AND {kind(path)} <> 'NULL')"

    def text(path: str) -> str:
        # A string without escapes is its JSON text between the quotes, and a number is its
        # text: only the rest needs ->> (which parses the value once more).
        raw = f"CAST({value(path)} AS VARCHAR)"
        return (
            f"CASE WHEN {kind(path)} = 'VARCHAR' AND NOT contains({raw}, '\\') THEN {raw}[2:-2] "
            f"WHEN {kind(path)} = 'BIGINT' THEN {raw} ELSE {value(path)}->>'$' END"
        )

    # The JSON type of each extracted value from its first character: json_type() would
    # parse every value again (objects such as traits in full), which made parsing 8x slower.
    kinds = ",\n".join(
        f"""CASE WHEN v[{i}] IS NULL THEN NULL ELSE CASE left(CAST(v[{i}] AS VARCHAR), 1)
                WHEN '"' THEN 'VARCHAR' WHEN '{{' THEN 'OBJECT' WHEN '[' THEN 'ARRAY' WHEN 'n' THEN 'NULL'
                WHEN 't' THEN 'BOOLEAN' WHEN 'f' THEN 'BOOLEAN'
                ELSE CASE WHEN regexp_full_match(CAST(v[{i}] AS VARCHAR), '-?[0-9]+') THEN 'BIGINT' ELSE 'DOUBLE' END
            END END AS t{i}"""
        for i in range(1, len(paths) + 1)
    )

    extracted = []
    wrong_type_tests = []
    for col, path in {**_ID_FIELDS, **_TEXT_FIELDS}.items():
        extracted.append(f"NULLIF(trim({text(path)}), '') AS {col}")
        allowed = _ID_TYPES if col in _ID_FIELDS else "('VARCHAR')"
        wrong_type_tests.append(f"WHEN {present(path)} AND {kind(path)} NOT IN {allowed} THEN '{path[2:]}'")
    for col, path in _OBJECT_FIELDS.items():
        extracted.append(f"CASE WHEN {kind(path)} = 'OBJECT' THEN {value(path)}::VARCHAR END AS {col}")
        wrong_type_tests.append(f"WHEN {present(path)} AND {kind(path)} <> 'OBJECT' THEN '{path[2:]}'")
    for col, path in _TIME_FIELDS.items():
        extracted.append(f"{text(path)} AS {col}_text")
        wrong_type_tests.append(f"WHEN {present(path)} AND {kind(path)} <> 'VARCHAR' THEN '{path[2:]}'")
    times = ",\n".join(f"{_timestamp_sql(col + '_text')} AS {col}" for col in _TIME_FIELDS)
    bad_time_tests = " ".join(
        f"WHEN {col}_text IS NOT NULL AND {col} IS NULL THEN '{path[2:]}'" for col, path in _TIME_FIELDS.items()
    )
    long_id_tests = " ".join(f"WHEN length({col}) > {int(max_id_length)} THEN '{col}'" for col in _ID_FIELDS)
    path_list = ", ".join(f"'{p}'" for p in paths)
    types = ", ".join(f"'{t}'" for t in MESSAGE_TYPES)
    sql = f"""
    WITH src AS (
        SELECT received_date, source_file, line_number, line, encoding, read_error,
               coalesce(source, '{DEFAULT_SOURCE}') AS source,  -- issue 17: the landing source
               CASE WHEN read_error IS NULL AND json_valid(line) THEN line END AS j
        FROM {source}
    ),
    kinded AS (
        -- Valid JSON whose first non-blank character is `{{` is an object: json_type() would
        -- parse the whole line once more to say so.
        SELECT *, CASE WHEN j IS NULL THEN NULL WHEN left(ltrim(j, ' \t\n\r'), 1) = '{{' THEN 'OBJECT'
                       ELSE json_type(j) END AS json_kind
        FROM src
    ),
    extracted AS (
        SELECT *, CASE WHEN json_kind = 'OBJECT' THEN json_extract(j, [{path_list}]) END AS v
        FROM kinded
    ),
    typed AS (
        SELECT *, {kinds} FROM extracted
    ),
    fields AS (
        SELECT *,
               {", ".join(extracted)},
               CASE {" ".join(wrong_type_tests)} END AS wrong_type_field
        FROM typed
    ),
    timed AS (
        SELECT *, {times} FROM fields
    ),
    judged AS (
        SELECT *,
            lower(type_raw) AS type,
            {kind("$.type")} AS type_kind,
            CASE {bad_time_tests} END AS bad_time_field,
            CASE {long_id_tests} END AS long_id_field,
            CASE
                WHEN ts_timestamp IS NOT NULL THEN ts_timestamp
                WHEN ts_original IS NOT NULL AND ts_sent IS NOT NULL AND ts_received IS NOT NULL
                    THEN ts_received - (ts_sent - ts_original)
                WHEN ts_original IS NOT NULL THEN ts_original
                ELSE ts_received
            END AS event_ts
        FROM timed
    )
    SELECT
        received_date, source_file, line_number, line, encoding, source,
        CASE
            WHEN read_error IS NOT NULL THEN read_error
            WHEN j IS NULL AND trim(line, '{_BLANK}') = '' THEN 'empty_line'
            WHEN j IS NULL THEN 'not_json'
            WHEN json_kind <> 'OBJECT' THEN 'not_an_object'
            WHEN type_raw IS NULL THEN 'missing_type'
            WHEN type_kind <> 'VARCHAR' THEN 'wrong_field_type'
            WHEN type NOT IN ({types}) THEN 'unknown_type'
            WHEN wrong_type_field IS NOT NULL THEN 'wrong_field_type'
            WHEN user_id IS NULL AND anonymous_id IS NULL THEN 'missing_identity'
            WHEN type = '{MessageType.TRACK}' AND event IS NULL THEN 'missing_event'
            WHEN type = '{MessageType.GROUP}' AND group_id IS NULL THEN 'missing_group_id'
            WHEN type = '{MessageType.ALIAS}' AND previous_id IS NULL THEN 'missing_previous_id'
            WHEN long_id_field IS NOT NULL THEN 'id_too_long'
            WHEN bad_time_field IS NOT NULL THEN 'bad_timestamp'
            WHEN event_ts IS NULL THEN 'missing_timestamp'
            WHEN event_ts < TIMESTAMPTZ '2000-01-01 00:00:00+00'
              OR event_ts > ts_received + INTERVAL 1 DAY
              OR event_ts >= (received_date + 2)::TIMESTAMPTZ
                THEN 'timestamp_out_of_range'
        END AS reason,
        CASE
            WHEN type_raw IS NOT NULL AND type_kind <> 'VARCHAR' THEN 'field type'
            WHEN wrong_type_field IS NOT NULL THEN 'field ' || wrong_type_field
            WHEN long_id_field IS NOT NULL THEN 'field ' || long_id_field
            WHEN bad_time_field IS NOT NULL THEN 'field ' || bad_time_field
            WHEN type_raw IS NOT NULL AND type NOT IN ({types}) THEN 'type ' || left(type_raw, 40)
        END AS detail,
        coalesce(message_id, 'md5:' || md5(line)) AS message_id,
        type, event, name, user_id, anonymous_id, group_id, context_group_id, previous_id,
        -- RudderStack's and some other libraries' identify calls carry the traits in context.traits only.
        CASE
            WHEN type = '{MessageType.IDENTIFY}' AND (traits IS NULL OR traits = '{{}}')
                AND json_type(context, '$.traits') = 'OBJECT' THEN json_extract(context, '$.traits')::VARCHAR
            ELSE traits
        END AS traits,
        timezone('UTC', event_ts) AS timestamp,
        CAST(timezone('UTC', event_ts) AS DATE) AS event_date,
        timezone('UTC', ts_received) AS received_at
    FROM judged
    """
    if accepted_lines:
        return sql
    return f"SELECT * REPLACE (CASE WHEN reason IS NULL THEN NULL ELSE line END AS line) FROM ({sql})"


def parse_lines(con: duckdb.DuckDBPyConnection, lines: pl.DataFrame, max_id_length: int) -> pl.DataFrame:
    """Judge every line: `reason` is null for an accepted message, else the quarantine code.

    `lines` has the columns of raw.landed_lines. The result has one row per input line.
    """
    if "source" not in lines.columns:  # lines read outside a source (tests, tools): the default one
        lines = lines.with_columns(pl.lit(DEFAULT_SOURCE, dtype=pl.String).alias("source"))
    con.register("_lines", lines.to_arrow())
    try:
        return _run_utc(con, _parse_sql(max_id_length), [])
    finally:
        con.unregister("_lines")


def parse_landed(con: duckdb.DuckDBPyConnection, day: dt.date, max_id_length: int) -> pl.DataFrame:
    """`parse_lines` over the received day's rows of raw.landed_lines, in place.

    The lines never leave DuckDB, and only a rejected line keeps its text (`line` is null
    for an accepted one): what a million-line day needs in memory is the parsed fields.
    """
    source = "(SELECT * FROM raw.landed_lines WHERE received_date = $day)"
    return _run_utc(con, _parse_sql(max_id_length, source, accepted_lines=False), {"day": day})


def _run_utc(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | dict[str, object]) -> pl.DataFrame:
    row = con.execute("SELECT current_setting('TimeZone')").fetchone()
    zone = row[0] if row is not None else "UTC"
    try:
        if zone != "UTC":
            # A timestamp without a zone is UTC, and the day bounds are UTC days, whatever the
            # caller's session time zone (restored below).
            con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, params).pl()
    finally:
        if zone != "UTC":
            con.execute("SET TimeZone = '" + str(zone).replace("'", "''") + "'")
