"""Runs docs/sql.md's queries for one engine over a haplog Parquet file and
prints one JSON object: each query's rows, and for each server the exact
nearest-rank Tt and Tr percentiles (and their neighbours) from the raw
values, computed here in Python.

    python sql_check.py duckdb FILE.parquet docs/sql.md
    python sql_check.py clickhouse FILE.parquet docs/sql.md DDL.sql
"""
import json
import math
import re
import sys


def queries(markdown, engine):
    """The ```sql blocks whose first line is `-- ENGINE: NAME`."""
    found = {}
    for block in re.findall(r"```sql\n(.*?)```", markdown, re.S):
        m = re.match(r"-- (\w+): (\w+)\n", block)
        if m and m.group(1) == engine:
            found[m.group(2)] = block[m.end():].strip().rstrip(";")
    return found


def ranks(values, q):
    """The nearest-rank q quantile and the values one rank either side."""
    values = sorted(values)
    if not values:
        return None
    k = max(1, math.ceil(q * len(values)))
    return [values[max(k - 2, 0)], values[k - 1], values[min(k, len(values) - 1)]]


def main():
    engine, parquet, sql_md = sys.argv[1], sys.argv[2], sys.argv[3]
    texts = queries(open(sql_md).read(), engine)
    raw_query = ("SELECT backend, server, CASE WHEN NOT incomplete THEN coalesce(tt, ta) END, tr "
                 "FROM haproxy WHERE kind IN ('traffic', 'json')")
    if engine == "duckdb":
        import duckdb
        con = duckdb.connect()
        con.execute("CREATE VIEW haproxy AS SELECT * FROM read_parquet('%s')" % parquet.replace("'", "''"))

        def run(q):
            cur = con.execute(q)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]
    else:
        from chdb import session
        s = session.Session()
        s.query("CREATE DATABASE IF NOT EXISTS t")
        s.query("USE t")
        ddl = open(sys.argv[4]).read()
        s.query(ddl)
        s.query("INSERT INTO haproxy SELECT * FROM file('%s', Parquet)" % parquet.replace("'", "\\'"))

        def run(q):
            out = s.query(q, "JSON")
            return json.loads(out.bytes() or b'{"data": []}')["data"]
    result = {"queries": {}, "exact": {}}
    for name, text in texts.items():
        result["queries"][name] = run(text)
    per = {}
    for row in run(raw_query):
        vals = list(row.values())
        key = "%s/%s" % (vals[0], vals[1])
        tt, tr = vals[2], vals[3]
        p = per.setdefault(key, {"tt": [], "tr": []})
        if tt is not None:
            p["tt"].append(int(tt))
        if tr is not None:
            p["tr"].append(int(tr))
    for key, p in per.items():
        result["exact"][key] = {
            "tt_p50": ranks(p["tt"], 0.5), "tt_p99": ranks(p["tt"], 0.99),
            "tr_p50": ranks(p["tr"], 0.5), "tr_p99": ranks(p["tr"], 0.99),
        }
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
