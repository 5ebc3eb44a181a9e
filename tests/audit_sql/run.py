#!/usr/bin/env python3
"""Runs the audit.sql of exports (`section-access export --target duckdb|spark`).

  run.py duckdb DIR...   each folder's audit.sql in a fresh DuckDB connection
  run.py spark DIR       one folder in Spark local mode (Spark reads paths
                         relative to the JVM's folder: run it from DIR)

Prints one JSON object: per folder, the rows of the last statement, each a
list [userid, email, groups, decision, reason, table_name, row_count].
Statements are split where audit.sql ends them: `;` at the end of a line.
"""
import json
import os
import sys


def statements(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    out = []
    for chunk in text.split(";\n"):
        code = [l for l in chunk.splitlines() if l.strip() and not l.lstrip().startswith("--")]
        if code:
            out.append(chunk)
    return out


def duckdb_rows(folder):
    import duckdb

    here = os.getcwd()
    os.chdir(folder)
    try:
        con = duckdb.connect()
        stmts = statements("audit.sql")
        for s in stmts[:-1]:
            con.execute(s)
        return [list(r) for r in con.execute(stmts[-1]).fetchall()]
    finally:
        os.chdir(here)


def spark_rows(folder):
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    stmts = statements(os.path.join(folder, "audit.sql"))
    for s in stmts[:-1]:
        spark.sql(s)
    return [list(r) for r in spark.sql(stmts[-1]).collect()]


engine, folders = sys.argv[1], sys.argv[2:]
run = {"duckdb": duckdb_rows, "spark": spark_rows}[engine]
print(json.dumps({f: run(f) for f in folders}))
