# A small program using json, sqlite3 and ssl: what the image must be able to run.
import json
import sqlite3
import ssl

db = sqlite3.connect(":memory:")
db.execute("create table t (k text, v integer)")
db.executemany("insert into t values (?, ?)", [("a", 1), ("b", 2)])
rows = dict(db.execute("select k, v from t order by k"))
ctx = ssl.create_default_context()
print(json.dumps({"rows": rows, "tls": ctx.minimum_version.name}, sort_keys=True))
