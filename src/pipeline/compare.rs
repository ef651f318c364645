//! `--compare A B`: runs the pipeline over each capture named (once per file), finds the
//! two transfers, and sets them side by side (`output::compare`); with `--report`, the
//! page shows the same table above the two transfers.

use super::{one_line, run, RunError};
use crate::config::{Config, Input, Outputs, TransferRef};
use crate::output::compare::{self, Comparison, Side};
use crate::output::report::{self, ReportInput};
use crate::output::schema::StatsRecord;
use crate::session::record::RunRecord;
use std::path::PathBuf;

/// The table as text, and the warnings of the runs.
pub struct CompareDone {
    pub text: String,
    pub warnings: Vec<String>,
}

pub fn compare(cfg: &Config) -> Result<CompareDone, RunError> {
    let [a, b] = cfg.compare.as_slice() else {
        return Err(RunError::input(
            "oftsniff: --compare takes two transfers".into(),
        ));
    };
    let mut runs: Vec<(PathBuf, RunRecord, StatsRecord)> = Vec::new();
    let mut warnings = Vec::new();
    for r in [a, b] {
        if runs.iter().any(|(p, _, _)| *p == r.file) {
            continue;
        }
        let mut sub = cfg.clone();
        sub.input = Input::File(r.file.clone());
        sub.outputs = Outputs {
            progress_secs: cfg.outputs.progress_secs,
            ..Outputs::default()
        };
        let done = run(&sub)?;
        warnings.extend(done.warnings);
        runs.push((r.file.clone(), done.record, done.stats));
    }
    let side = |r: &TransferRef| -> Result<(Side, RunRecord), RunError> {
        let (_, record, _) = runs
            .iter()
            .find(|(p, _, _)| *p == r.file)
            .expect("run above");
        let label = format!("{}:{}", r.file.display(), r.transfer);
        let ladder = record.ladder(r.transfer).ok_or_else(|| {
            RunError::input(format!(
                "oftsniff: {label}: no such transfer (a run over {} found {})",
                r.file.display(),
                ids(record)
            ))
        })?;
        let summary = record.transfer(r.transfer).cloned();
        let one = RunRecord {
            transfers: summary.iter().cloned().collect(),
            files: record
                .files
                .iter()
                .filter(|(t, _)| *t == r.transfer)
                .cloned()
                .collect(),
            ladders: vec![ladder.clone()],
        };
        Ok((Side::new(label, summary, ladder), one))
    };
    let (sa, ra) = side(a)?;
    let (sb, rb) = side(b)?;
    let c = Comparison::new(sa, sb);
    if let Some(path) = &cfg.outputs.report {
        let mut stats = runs[0].2.clone();
        for (_, _, s) in &runs[1..] {
            stats.counters.add(&s.counters);
        }
        let page = report::render(&ReportInput {
            records: &[&ra, &rb],
            stats: Some(&stats),
            compare: Some(&c),
        });
        report::write_atomic(path, &page).map_err(one_line)?;
    }
    Ok(CompareDone {
        text: compare::text(&c),
        warnings,
    })
}

fn ids(record: &RunRecord) -> String {
    let v: Vec<String> = record
        .ladders
        .iter()
        .map(|l| l.transfer.to_string())
        .collect();
    if v.is_empty() {
        "no transfer".into()
    } else {
        v.join(", ")
    }
}
