//! W5: 4 processes x 50 appends of 1,000 rows to one table on local disk; wall time and the
//! commits that landed. The processes are this binary run as `strata-bench w5-writer URI ID N`.

use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;
use strata_format::compact::parse_schema;
use strata_table::Table;
use strata_table::arrow_schema::to_arrow_schema;

use crate::{BoxError, batch, create, emit};

const PROCESSES: u64 = 4;
const APPENDS: u64 = 50;

/// One writer process: `n` appends of 1,000 rows; prints how many committed.
pub(crate) async fn writer(uri: &str, id: u64, n: u64) -> Result<(), BoxError> {
    let t = Table::open(uri).await?;
    let schema = to_arrow_schema(&parse_schema(crate::SCHEMA)?)?;
    let mut rng = StdRng::seed_from_u64(42 + id);
    let mut landed = 0;
    for i in 0..n {
        let first = ((id * n + i) * 1000) as i64;
        t.append([batch(&schema, first, 1000, &mut rng)?]).await?;
        landed += 1;
    }
    println!("{landed}");
    Ok(())
}

pub(crate) async fn w5() -> Result<(), BoxError> {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("w5");
    create(&root, false).await?;
    let uri = root.to_str().ok_or("path")?.to_string();
    let exe = std::env::current_exe()?;
    let start = Instant::now();
    let children: Vec<_> = (0..PROCESSES)
        .map(|id| {
            std::process::Command::new(&exe)
                .args(["w5-writer", &uri, &id.to_string(), &APPENDS.to_string()])
                .stdout(std::process::Stdio::piped())
                .spawn()
        })
        .collect::<Result<_, _>>()?;
    let mut failed = 0;
    for c in children {
        let out = c.wait_with_output()?;
        if !out.status.success() {
            failed += 1;
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let landed = Table::open(&uri).await?.latest().await?.version();
    emit("w5", "strata", "wall_seconds", wall, "s");
    emit("w5", "strata", "commits_landed", landed as f64, "commits");
    emit(
        "w5",
        "strata",
        "commits_expected",
        (PROCESSES * APPENDS) as f64,
        "commits",
    );
    emit("w5", "strata", "writers_failed", failed as f64, "processes");
    Ok(())
}
