//! Scans on a terminal (a pseudo-terminal) show a screenful and the total; pipes get every
//! row; `--all` and `--limit` keep their meaning.

use crate::common::*;

/// A table of `n` rows (`id` 0..n) in `s`.
fn table_of(s: &Scratch, n: usize) -> String {
    let mut csv = String::from("id,name\n");
    for i in 0..n {
        csv.push_str(&format!("{i},name-{i}\n"));
    }
    let input = s.write("rows.csv", &csv);
    let t = s.file("t");
    ok(&["create", &t, "--from", &input, "-q"]);
    t
}

/// Everything `strata ARGS` printed on a pseudo-terminal until it exited.
fn on_terminal(s: &Scratch, args: &[&str]) -> String {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env("STRATA_CONFIG", "/dev/null")
        .current_dir(s.path());
    let mut p = rexpect::session::spawn_command(cmd, Some(60_000)).unwrap();
    p.exp_eof().unwrap()
}

#[test]
fn a_terminal_gets_a_screenful_with_the_total_and_pipes_get_everything() {
    let s = Scratch::new();
    let t = table_of(&s, 3000);
    let screen = on_terminal(&s, &["scan", &t]);
    assert!(
        screen.contains("3,000 rows in total"),
        "no footer: {screen}"
    );
    assert!(screen.contains("| 0    | name-0"), "{screen}");
    assert!(screen.contains("| 2999 | name-2999"), "{screen}");
    assert!(screen.contains("| ...  | ..."), "{screen}");
    assert!(
        !screen.contains("name-1500"),
        "the middle was printed: {screen}"
    );
    assert!(
        screen.lines().count() < 60,
        "more than a screenful: {screen}"
    );
    // --all on a terminal, and a pipe, print every row and no footer.
    let all = on_terminal(&s, &["scan", &t, "--all"]);
    assert!(all.contains("name-1500") && !all.contains("rows in total"));
    let piped = ok(&["scan", &t]);
    assert_eq!(piped.matches("| name-").count(), 3000);
    assert!(!piped.contains("rows in total"), "{piped}");
    // --limit still limits what is read; a small result is shown whole.
    let limited = on_terminal(&s, &["scan", &t, "--limit", "5"]);
    assert_eq!(limited.matches("| name-").count(), 5, "{limited}");
    assert!(!limited.contains("rows in total"), "{limited}");
    // SQL results too.
    let sql = on_terminal(&s, &["sql", &format!("SELECT id FROM \"{t}\"")]);
    assert!(sql.contains("3,000 rows in total"), "{sql}");
}
