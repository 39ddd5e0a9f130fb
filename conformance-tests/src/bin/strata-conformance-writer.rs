//! A writer process for the multi-process concurrency case:
//! `strata-conformance-writer TABLE_URI WRITER_ID COMMITS` appends COMMITS commits.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(uri), Some(Ok(id)), Some(Ok(commits))) = (
        args.get(1),
        args.get(2).map(|a| a.parse::<u64>()),
        args.get(3).map(|a| a.parse::<u64>()),
    ) else {
        eprintln!("usage: strata-conformance-writer TABLE_URI WRITER_ID COMMITS");
        return ExitCode::from(2);
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(strata_conformance::cases::concurrency::writer(
        uri, id, commits,
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("writer {id}: {e}");
            ExitCode::FAILURE
        }
    }
}
