//! `strata sql` and `strata create --from`, as an analyst uses them: a real-shaped CSV with
//! `NA` nulls, joins, aggregates, metadata tables, time travel and writes; the shell in a
//! pseudo-terminal; catalog tables by name.

use std::time::Duration;

use serde_json::Value;

use crate::common::*;
use crate::served::Served;

/// Flights as the nycflights13 CSV spells them: `NA` for missing delays.
const FLIGHTS: &str = "year,month,day,dep_time,dep_delay,arr_delay,carrier,origin,dest,distance,time_hour\n\
2013,1,1,517,2,11,UA,EWR,IAH,1400,2013-01-01T05:00:00Z\n\
2013,1,1,533,4,20,UA,LGA,IAH,1416,2013-01-01T05:00:00Z\n\
2013,1,1,542,2,33,AA,JFK,MIA,1089,2013-01-01T05:00:00Z\n\
2013,1,1,544,-1,-18,B6,JFK,BQN,1576,2013-01-01T05:00:00Z\n\
2013,1,2,NA,NA,NA,AA,LGA,ORD,733,2013-01-02T06:00:00Z\n\
2013,1,2,554,-6,-25,DL,LGA,ATL,762,2013-01-02T06:00:00Z\n";

const CARRIERS: &str = "carrier,name\nUA,United Air Lines Inc.\nAA,American Airlines Inc.\nB6,JetBlue Airways\nDL,Delta Air Lines Inc.\n";

fn rows(args: &[&str]) -> Vec<Value> {
    match json(args) {
        Value::Array(a) => a,
        other => panic!("not an array: {other}"),
    }
}

#[test]
fn an_analyst_loads_a_csv_with_na_nulls_and_queries_it() {
    let s = Scratch::new();
    let flights_csv = s.write("flights.csv", FLIGHTS);
    let carriers_csv = s.write("airlines.csv", CARRIERS);
    let flights = s.file("flights");
    let airlines = s.file("airlines");
    let err = ok_stderr(&[
        "create",
        &flights,
        "--from",
        &flights_csv,
        "--null",
        "NA",
        "--partition-by",
        "carrier",
    ]);
    assert!(err.contains("6 rows"), "{err}");
    ok(&["create", &airlines, "--from", &carriers_csv, "-q"]);

    // Types were inferred, NA became null.
    let schema = rows(&[
        "sql",
        &format!("SELECT path, type FROM \"{flights}$schemas\" ORDER BY field_id"),
    ]);
    let types: Vec<String> = schema
        .iter()
        .map(|r| {
            format!(
                "{}:{}",
                r["path"].as_str().unwrap(),
                r["type"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            "year:int64",
            "month:int64",
            "day:int64",
            "dep_time:int64",
            "dep_delay:int64",
            "arr_delay:int64",
            "carrier:string",
            "origin:string",
            "dest:string",
            "distance:int64",
            "time_hour:timestamp"
        ]
    );

    // Aggregates and a join.
    let q = format!(
        "SELECT a.name, avg(f.arr_delay) AS delay, count(*) AS n FROM \"{flights}\" f \
         JOIN \"{airlines}\" a ON f.carrier = a.carrier GROUP BY a.name ORDER BY a.name"
    );
    let out = rows(&["sql", &q]);
    assert_eq!(out.len(), 4);
    assert_eq!(out[0]["name"], "American Airlines Inc.");
    assert_eq!(out[0]["delay"], 33.0, "the NA row is null, not 0: {out:?}");
    assert_eq!(out[0]["n"], 2);
    assert_eq!(out[3]["name"], "United Air Lines Inc.");
    assert_eq!(out[3]["delay"], 15.5);

    // Every output format.
    let q = format!(
        "SELECT carrier, count(*) AS n FROM \"{flights}\" GROUP BY carrier ORDER BY carrier"
    );
    assert_eq!(csv(&["sql", &q])[0], ["carrier", "n"]);
    assert_eq!(ndjson(&["sql", &q]).len(), 4);
    let table = ok(&["sql", &q]);
    assert!(table.contains("| B6      | 1 |"), "{table}");

    // Writes, one commit each, with their counts.
    let out = ok(&[
        "sql",
        &format!(
            "INSERT INTO \"{flights}\" (year, month, day, carrier, arr_delay) VALUES (2013, 1, 3, 'UA', 7)"
        ),
    ]);
    assert!(out.contains("| 1     |"), "{out}");
    let out = ok(&[
        "sql",
        &format!("UPDATE \"{flights}\" SET arr_delay = 0 WHERE arr_delay IS NULL"),
    ]);
    assert!(out.contains("| 1     |"), "{out}");
    let out = ok(&[
        "sql",
        &format!("DELETE FROM \"{flights}\" WHERE carrier = 'DL'"),
    ]);
    assert!(out.contains("| 1     |"), "{out}");

    // History in SQL, and time travel back before the writes.
    let history = rows(&[
        "sql",
        &format!("SELECT version, operation FROM \"{flights}$history\" ORDER BY version"),
    ]);
    let ops: Vec<&str> = history
        .iter()
        .map(|r| r["operation"].as_str().unwrap())
        .collect();
    assert_eq!(
        ops,
        ["CREATE TABLE", "APPEND", "APPEND", "UPDATE", "DELETE"]
    );
    let then = rows(&[
        "sql",
        &format!("SELECT count(*) AS n, count(arr_delay) AS known FROM \"{flights}@1\""),
    ]);
    assert_eq!(
        (then[0]["n"].as_i64(), then[0]["known"].as_i64()),
        (Some(6), Some(5))
    );
    let now = rows(&[
        "sql",
        &format!("SELECT count(*) AS n, count(arr_delay) AS known FROM \"{flights}\""),
    ]);
    assert_eq!(
        (now[0]["n"].as_i64(), now[0]["known"].as_i64()),
        (Some(6), Some(6))
    );

    // Files of the table, and EXPLAIN showing what the partitions pruned.
    let files = rows(&[
        "sql",
        &format!("SELECT tier, record_count FROM \"{flights}$files\""),
    ]);
    assert!(files.iter().all(|f| f["tier"] == "hot"), "{files:?}");
    let plan = ok(&[
        "sql",
        &format!("EXPLAIN SELECT * FROM \"{flights}\" WHERE carrier = 'AA'"),
    ]);
    assert!(
        plan.contains("StrataScanExec") && plan.contains("by partition"),
        "{plan}"
    );
    assert!(!plan.contains("(pruned: 0 by partition"), "{plan}");
}

#[test]
fn csv_options_and_failed_loads_leave_nothing() {
    let s = Scratch::new();
    let semi = s.write(
        "semi.csv",
        "1;'a;b';31/01/2026 10:00\n2;NULL;01/02/2026 11:30\n",
    );
    let t = s.file("t");
    ok(&[
        "create",
        &t,
        "--from",
        &semi,
        "--delimiter",
        ";",
        "--quote",
        "'",
        "--no-header",
        "--null",
        "NULL",
        "--timestamp-format",
        "%d/%m/%Y %H:%M",
        "-q",
    ]);
    let out = rows(&["sql", &format!("SELECT * FROM \"{t}\" ORDER BY column_1")]);
    assert_eq!(out[0]["column_2"], "a;b");
    assert_eq!(out[1]["column_2"], Value::Null);
    assert_eq!(out[0]["column_3"], "2026-01-31T10:00:00");
    // Append takes the same options.
    let more = s.write("more.csv", "3|x|02/02/2026 00:00\n");
    ok(&[
        "append",
        &t,
        &more,
        "--delimiter",
        "|",
        "--no-header",
        "--timestamp-format",
        "%d/%m/%Y %H:%M",
        "-q",
    ]);
    assert_eq!(
        rows(&["sql", &format!("SELECT count(*) AS n FROM \"{t}\"")])[0]["n"],
        3
    );

    // A load that fails (NA in an int64 column without --null) leaves no table behind.
    let bad = s.write("bad.csv", FLIGHTS);
    let target = s.file("half");
    let err = fails(
        &[
            "create",
            &target,
            "--from",
            &bad,
            "--schema",
            "year:int64,month:int64,day:int64,dep_time:int64,dep_delay:int64,arr_delay:int64,carrier:string,origin:string,dest:string,distance:int64,time_hour:timestamp",
        ],
        1,
    );
    assert!(err.contains("bad.csv") && err.contains("line 6"), "{err}");
    assert!(
        !std::path::Path::new(&target)
            .join("_strata_log")
            .join("00000000000000000000.json")
            .exists()
    );
    let err = fails(&["sql", &format!("SELECT * FROM \"{target}\"")], 1);
    assert!(
        err.contains("not found") && err.contains("double quotes"),
        "{err}"
    );
    // Bad options are named.
    let err = fails(&["append", &t, &more, "--delimiter", "||"], 1);
    assert!(err.contains("--delimiter"), "{err}");
}

#[test]
fn sql_errors_are_clear() {
    let s = Scratch::new();
    let csv = s.write("a.csv", "id,name\n1,x\n");
    let t = s.file("t");
    ok(&["create", &t, "--from", &csv, "-q"]);
    let err = fails(&["sql", &format!("SELECT * FROM \"{t}@7\"")], 1);
    assert!(
        err.contains("version 7 does not exist") && err.contains("strata history"),
        "{err}"
    );
    let err = fails(&["sql", &format!("SELECT * FROM \"{t}$nope\"")], 1);
    assert!(err.contains("no metadata table `nope`"), "{err}");
    let err = fails(
        &["sql", &format!("INSERT INTO \"{t}@0\" VALUES (2, 'y')")],
        1,
    );
    assert!(err.contains("time travel"), "{err}");
    let err = fails(&["sql", "SELEC 1"], 1);
    assert!(err.contains("SELEC"), "{err}");
}

#[test]
fn catalog_tables_are_namespace_dot_table() {
    let served = Served::start();
    let s = Scratch::new();
    let csv = s.write("a.csv", "id,name\n1,x\n2,y\n");
    served.ok(&["namespace", "create", "sales"]);
    served.ok(&["create", "sales.orders", "--from", &csv]);
    let r = served.run(&[
        "sql",
        "-o",
        "json",
        "SELECT count(*) AS n FROM sales.orders",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("\"n\":2"), "{}", r.stdout);
    // Writes commit through the catalog; every table is visible without registration.
    let r = served.run(&["sql", "INSERT INTO sales.orders VALUES (3, 'z')"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = served.run(&["sql", "-o", "json", "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = 'sales'"]);
    assert!(r.stdout.contains("orders"), "{}", r.stdout);
    let r = served.run(&[
        "sql",
        "-o",
        "json",
        "SELECT version, operation FROM \"sales\".\"orders$history\" ORDER BY version",
    ]);
    assert_eq!(
        r.stdout.matches("\"operation\":\"APPEND\"").count(),
        2,
        "{}",
        r.stdout
    );
    let history = served.ok(&["history", "sales.orders", "-o", "json"]);
    assert!(history.matches("APPEND").count() >= 2, "{history}");
}

#[test]
fn the_shell_edits_remembers_and_times_statements() {
    let s = Scratch::new();
    let csv = s.write("a.csv", "id,name\n1,x\n2,y\n");
    let t = s.file("t");
    ok(&["create", &t, "--from", &csv, "-q"]);
    let history = s.file("history");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.arg("sql")
        .env("STRATA_HISTORY", &history)
        .env("NO_COLOR", "1")
        .current_dir(s.path());
    let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
    p.exp_string("strata> ").unwrap();
    // A statement over two lines.
    p.send_line("SELECT count(*) AS n").unwrap();
    p.exp_string("...> ").unwrap();
    p.send_line(&format!("FROM \"{t}\";")).unwrap();
    p.exp_string("| 2 |").unwrap();
    p.exp_regex(r"1 row in [0-9.]+ s").unwrap();
    p.exp_string("strata> ").unwrap();
    // Dot commands.
    p.send_line(".tables").unwrap();
    p.exp_string("\"./t\"").unwrap();
    p.exp_string("strata> ").unwrap();
    p.send_line(&format!(".schema {t}")).unwrap();
    p.exp_string("| 2        | name").unwrap();
    p.exp_string("strata> ").unwrap();
    // Each line waits for the prompt: the editor drops what is typed before it.
    p.send_line(".timing off").unwrap();
    p.exp_string("strata> ").unwrap();
    p.send_line(".output csv").unwrap();
    p.exp_string("strata> ").unwrap();
    p.send_line("SELECT name FROM \"./t\" ORDER BY id;")
        .unwrap();
    p.exp_string("name\r\nx\r\ny").unwrap();
    p.exp_string("strata> ").unwrap();
    // An error does not end the shell.
    p.send_line("SELECT * FROM \"./t@9\";").unwrap();
    p.exp_string("version 9 does not exist").unwrap();
    p.exp_string("strata> ").unwrap();
    p.send_line(".quit").unwrap();
    p.exp_eof().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(
        saved.contains("SELECT count(*) AS n") && saved.contains(".tables"),
        "{saved}"
    );
}
